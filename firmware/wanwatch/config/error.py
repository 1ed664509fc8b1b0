# config/error.py: the one error of config loading, shared by the validator and the UCI parser
# (so neither imports the other for it). str(err) is the line the CLI prints before exit 2.


class ConfigError(Exception):
    def __init__(self, file, key, reason):
        super().__init__("%s: %s: %s" % (file, key, reason))
        self.file = file
        self.key = key
        self.reason = reason

    def __str__(self):
        return "config error: %s: %s: %s" % (self.file, self.key, self.reason)
