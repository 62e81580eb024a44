"""Connection helpers: resolve a service's hosts and check that mail domains accept mail."""

import socket

import dns.resolver


def addresses(host, port=443):
    """Every address of `host`, IPv6 first, as socket.create_connection would try them."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos}, key=lambda a: ":" not in a)


def bucket_endpoint(bucket, region="eu-west-1"):
    host = f"{bucket}.s3.{region}.amazonaws.com"
    return addresses(host)[0]


def local_address():
    return socket.gethostbyname(socket.gethostname())


def accepts_mail(domain):
    try:
        return bool(dns.resolver.resolve(domain, "MX"))
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return False
