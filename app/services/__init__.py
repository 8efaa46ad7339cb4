"""Domain services: plain functions taking plain arguments; views and CLI call them."""
