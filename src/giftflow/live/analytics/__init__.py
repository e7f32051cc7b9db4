"""LIVE engagement: analytics. Per live and per creator: gifts, coins and diamonds per minute,
unique gifters per hour and gifts per local day, kept by the gift batch (``hook``, ``repository``);
viewers and watch time from the lives' own counters; follower growth from the platform's reports
(``follower_series``, written by ``PUT /v1/users/{id}``). See docs/analytics.md."""
