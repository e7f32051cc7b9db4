"""Live rooms: starting and ending a live, eligibility, viewers joining and leaving."""
