#!/bin/sh
# The image's entrypoint. `okr-bot COMMAND …`, or an okr-bot command on its own (`serve`, `migrate`…), runs the
# bot; anything else (`sh`, `python …`) runs as it is. Either way through exec, with no shell left in between: in
# a container the bot is PID 1 and receives the SIGTERM it is stopped with.
# MIGRATE_ON_START=1 runs `okr-bot migrate` first, before serve, socket or scheduler. It is off by default: a
# migration is a one-off step of a release (`docker compose run --rm migrate`), not something every replica does.
set -eu

case "${1:-}" in
  okr-bot) shift ;;
  "" | serve | socket | scheduler | migrate | sweep | start | sandbox | purge-workspace | lint | -*) ;;
  *) exec "$@" ;;
esac

case "${1:-}:${MIGRATE_ON_START:-0}" in
  serve:1 | socket:1 | scheduler:1) okr-bot migrate ;;
esac
exec okr-bot "$@"
