from tests.helpers import flatten


def test_team_create_announces_in_channel(driver, slack, db):
    result = driver.command("team create Rockets", user="U0ADA", channel="C0ROCKET")
    assert result.status == 200
    response = slack.wait_for_response()
    assert "created the team *Rockets*" in flatten(response["body"])
