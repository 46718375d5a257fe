"""The tables slack-sdk's OAuth stores use, declared here so Alembic owns them.

slack-sdk would otherwise create them with `create_all` at run time; building them from the
store's own table builders keeps our migration and the library's queries in agreement.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Index, MetaData
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
slack_metadata = MetaData()

installations = SQLAlchemyInstallationStore.build_installations_table(
    slack_metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
bots = SQLAlchemyInstallationStore.build_bots_table(slack_metadata, SQLAlchemyInstallationStore.default_bots_table_name)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    slack_metadata, SQLAlchemyOAuthStateStore.default_table_name
)
# anyone may start a sign-in: a state is found by its value and the expired ones by their expiry, however many wait
Index("ix_slack_oauth_states_state", oauth_states.c.state)
Index("ix_slack_oauth_states_expire_at", oauth_states.c.expire_at)


class OAuthStates(SQLAlchemyOAuthStateStore):
    """slack-sdk's OAuth state store (installs, and the dashboard's sign-in), with two changes:
    - a state is consumed by one DELETE whose row count says whether it was there: two replicas given the same state
      at once cannot both take it (the library reads, then deletes);
    - issuing a state also deletes the expired ones, which the library keeps forever once nobody comes back with them
      (anyone may open a sign-in page and leave)."""

    def issue(self, *args: Any, **kwargs: Any) -> str:
        with self.engine.begin() as connection:
            connection.execute(self.oauth_states.delete().where(self.oauth_states.c.expire_at <= _naive_now()))
        return super().issue(*args, **kwargs)

    def consume(self, state: str) -> bool:
        """True for the one caller that takes an unexpired state; False otherwise, and (as the library does) when
        the database cannot say: the person is asked to start again."""
        table = self.oauth_states
        try:
            with self.engine.begin() as connection:
                taken = connection.execute(
                    table.delete().where(table.c.state == state, table.c.expire_at > _naive_now())
                )
                return taken.rowcount == 1
        except SQLAlchemyError as error:
            log.warning("could not consume an OAuth state", extra={"error": type(error).__name__})
            return False


def _naive_now() -> datetime:
    """Now as the state table keeps instants: UTC without a zone (slack-sdk's `normalize_datetime_for_db`)."""
    return datetime.now(UTC).replace(tzinfo=None)
