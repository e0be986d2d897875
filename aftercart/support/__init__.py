"""Customer care: tickets for questions and complaints, their SLAs, replies and CSAT."""
