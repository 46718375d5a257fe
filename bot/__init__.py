"""OKR rituals for agile teams, in Slack."""
