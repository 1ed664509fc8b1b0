"""Operator token for `fleet serve`: checked in constant time from a Bearer header, a session cookie
(set by the login form or a first load with ?token=) or a ?token= query parameter.

The cookie holds an HMAC of the token, not the token, so a cookie leaked from a browser profile
does not reveal what to type into another client; changing the token invalidates every session.
"""
import hashlib
import hmac

COOKIE = "wanwatch_session"
TOKEN_MIN_LEN = 12


class TokenAuth:
    def __init__(self, token=None):
        self.token = token.encode() if token else None
        self.session = (hmac.new(self.token, b"wanwatch dashboard session", hashlib.sha256).hexdigest().encode()
                        if self.token else None)

    @property
    def enabled(self):
        return self.token is not None

    def token_ok(self, candidate):
        return self.token is None or (candidate is not None and hmac.compare_digest(candidate.encode(), self.token))

    def session_ok(self, cookie):
        return self.session is None or (cookie is not None and hmac.compare_digest(cookie.encode(), self.session))

    def allowed(self, authorization=None, cookie=None, query_token=None):
        """Any one of: `Authorization: Bearer <token>`, the session cookie, `?token=<token>`."""
        if self.token is None:
            return True
        bearer = None
        if authorization and authorization[:7].lower() == "bearer ":
            bearer = authorization[7:].strip()
        return ((bearer is not None and self.token_ok(bearer)) or (cookie is not None and self.session_ok(cookie))
                or (query_token is not None and self.token_ok(query_token)))
