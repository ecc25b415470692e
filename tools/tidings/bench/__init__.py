"""The benchmark command (`make bench`): drives a running suite and prints its figures."""
