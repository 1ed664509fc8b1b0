# report/: what goes out: MQTT (client, codec), the persistent outbox, the reporter, signed
# commands, the SMS fallback, the status document, the table and the board console.
