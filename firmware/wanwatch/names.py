# names.py: the one check for names that reach a command line or a topic (links, devices, ids).
# [A-Za-z0-9_.-]{1,maxlen}: safe as one shell argument, so no shell string is built from input.
# Its own tiny module so the long-lived parts need not keep the config validator loaded.
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def is_name(s, maxlen=15):
    if not isinstance(s, str) or not 1 <= len(s) <= maxlen:
        return False
    for c in s:
        if c not in NAME_CHARS:
            return False
    return True
