"""Accounts: sign-up, log-in, the account page and what happens to progress on log-in
and deletion.

Rules: the top of the app graph (it imports the course, labs and review; none imports
it); its pages keep the paths they always had, under /accounts/.
"""
