"""Volunteer teams (志愿服务队), professional teams among them: a leader, members who apply and are approved, a
team taking slots of a task for named members at once, team hours and the team honour board. Above `hours`:
a team's claim is claims of its members."""
