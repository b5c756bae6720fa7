# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Shell commands left running in the background
#     level: beginner
#     minutes: 5
# ---

# %%
from escape_tools import SLEEP, marker, record

word = marker(5)

# %%
# IPython refuses a command that ends with "&". The shell runs on a pseudo-terminal that hangs
# up when the shell exits: the pause lets the background command get past that.
!nohup env -i {SLEEP} {word} > /dev/null 2>&1 & sleep 1
!(env -i setsid {SLEEP} {word} > /dev/null 2>&1 &); sleep 1

# %%
record(5, at_least=2)
