"""Co-hosts: other creators on a live, whom viewers can choose as a gift's recipient."""
