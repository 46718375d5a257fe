"""The tables slack-sdk's OAuth stores use, declared here so Alembic owns them.

slack-sdk would otherwise create them with `create_all` at run time; building them from the
store's own table builders keeps our migration and the library's queries in agreement.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

slack_metadata = MetaData()

installations = SQLAlchemyInstallationStore.build_installations_table(
    slack_metadata, SQLAlchemyInstallationStore.default_installations_table_name
)
bots = SQLAlchemyInstallationStore.build_bots_table(slack_metadata, SQLAlchemyInstallationStore.default_bots_table_name)
oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    slack_metadata, SQLAlchemyOAuthStateStore.default_table_name
)
