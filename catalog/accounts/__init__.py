"""People: accounts of an organisation's members, their sessions, invitations and resets."""
