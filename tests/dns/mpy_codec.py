# mpy_codec.py CORPUS.json: dns.parse() on each [hex message, name, qtype] of the corpus, one line
# each: repr of the result, or "E <error class>" (tests/dns/test_codec_fuzz.py compares with CPython).
import sys
import binascii

from wanwatch import dns
from wanwatch.compat import loads

with open(sys.argv[1]) as f:
    corpus = loads(f.read())
for hexmsg, name, qtype in corpus:
    try:
        print(repr(dns.parse(binascii.unhexlify(hexmsg), 0x1234, dns.encode_name(name), qtype)))
    except dns.DNSError as e:
        print("E", type(e).__name__)
    except Exception as e:
        print("ESCAPED", type(e).__name__, e)
