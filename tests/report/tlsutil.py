"""Throw-away test PKI made with the openssl CLI: a CA, a server cert for localhost/127.0.0.1, and a
second unrelated CA (the "wrong CA")."""
import os
import shutil
import subprocess


def _run(args, cwd):
    openssl = shutil.which("openssl")
    if not openssl:
        raise RuntimeError("openssl CLI not found: apt-get install -y openssl")
    subprocess.run([openssl] + args, cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    os.makedirs(d, exist_ok=True)
    for name in ("ca", "other"):
        _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
              "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=wanwatch test " + name],
             d)
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
          "-out", "server.csr", "-subj", "/CN=localhost"], d)
    _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf"], d)
    with open(os.path.join(d, "client.cnf"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n")
    _run(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "client.key",
          "-out", "client.csr", "-subj", "/CN=wanwatch-device"], d)
    _run(["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", "client.crt", "-days", "2", "-extfile", "client.cnf"], d)
    # mosquitto started as root drops to the "mosquitto" user: the files must be world-readable
    os.chmod(d, 0o755)
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)
    return {"ca": os.path.join(d, "ca.crt"), "other": os.path.join(d, "other.crt"),
            "server": os.path.join(d, "server.crt"), "server_key": os.path.join(d, "server.key"),
            "client": os.path.join(d, "client.crt"), "client_key": os.path.join(d, "client.key")}


def listener_conf(port, pki):
    return "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n" % (
        port, pki["ca"], pki["server"], pki["server_key"])


def mutual_listener_conf(port, pki):
    """A listener that also requires a client certificate signed by the test CA."""
    return listener_conf(port, pki) + "require_certificate true\n"
