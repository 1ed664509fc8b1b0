"""Notices to the sites' customers: plain-words messages (on the backup, backup running out, data
cap thresholds, line restored) in the contact's language, sent through the alert channels.

Modules: contacts (the operator's per-site contacts file), settings (the rules' "notices"
section), templates (<lang>.json texts), decide (pure: which notice a state calls for), messages
(pure: state -> rendered messages; `preview` for the CLI and the dashboard), engine (sending),
command (`fleet notices preview`)."""
