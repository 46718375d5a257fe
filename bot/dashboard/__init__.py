"""The read-only web dashboard under `/dashboard`: every team's cycle at once, a team's whole record, and the ripple
network, for the people of an installed workspace who signed in with Slack.

Nothing in it writes OKR data: every page is a GET that reads, and the only forms are sign-in and sign-out.
"""
