# hmac256.py: HMAC-SHA256 (RFC 2104) on hashlib.sha256, because MicroPython has no hmac module.
import hashlib

BLOCK = 64


def hmac_sha256(key, msg):
    if isinstance(key, str):
        key = key.encode()
    if isinstance(msg, str):
        msg = msg.encode()
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key + b"\x00" * (BLOCK - len(key))
    inner = hashlib.sha256(bytes([b ^ 0x36 for b in key]))
    inner.update(msg)
    outer = hashlib.sha256(bytes([b ^ 0x5C for b in key]))
    outer.update(inner.digest())
    return outer.digest()


def hexdigest(key, msg):
    import binascii
    return binascii.hexlify(hmac_sha256(key, msg)).decode()


def equal(a, b):
    """Constant-time comparison of two str/bytes (no early exit that leaks the matching prefix)."""
    if isinstance(a, str):
        a = a.encode()
    if isinstance(b, str):
        b = b.encode()
    diff = len(a) ^ len(b)
    for i in range(min(len(a), len(b))):
        diff |= a[i] ^ b[i]
    return diff == 0


def parse_key(text):
    """Key bytes from config text, or None when missing/invalid (commands disabled)."""
    if not isinstance(text, str) or not text:
        return None
    if text.startswith("hex:"):
        import binascii
        try:
            key = binascii.unhexlify(text[4:])
        except (ValueError, TypeError):
            return None
    else:
        key = text.encode()
    return key if len(key) >= 16 else None
