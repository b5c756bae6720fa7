# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A double-forked daemon
#     level: beginner
#     minutes: 5
# ---

# %%
import os

from escape_tools import record, sleeper

argv = sleeper(2)

# %%
first = os.fork()
if first == 0:  # the child: a session of its own, then a grandchild, then gone
    try:
        os.setsid()
        if os.fork() == 0:
            os.execve(argv[0], argv, {})
    finally:
        os._exit(0)
os.waitpid(first, 0)
record(2)
