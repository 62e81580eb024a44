"""shipit: upload build artefacts you name to your own bucket, and back up a directory you choose."""

import argparse
import os
import shutil
import sys
import tempfile

import boto3


def upload(paths, bucket, prefix=""):
    s3 = boto3.client("s3")
    for path in paths:
        key = prefix + os.path.basename(path)
        with open(path, "rb") as fh:
            s3.upload_fileobj(fh, bucket, key)
        print(f"uploaded {path} -> s3://{bucket}/{key}")


def backup(directory, bucket):
    archive = shutil.make_archive(os.path.join(tempfile.mkdtemp(), "backup"), "gztar", directory)
    upload([archive], bucket, prefix="backups/")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="shipit")
    parser.add_argument("bucket")
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--backup", action="store_true", help="archive each path (a directory) first")
    args = parser.parse_args(argv)
    for path in args.paths:
        if args.backup:
            backup(path, args.bucket)
        else:
            upload([path], args.bucket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
