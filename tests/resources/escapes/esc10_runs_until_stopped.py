# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A daemon in a lesson that runs until the run is stopped
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import time

from escape_tools import record, sleeper

argv = sleeper(10)

# %%
first = os.fork()
if first == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execve(argv[0], argv, {})
    finally:
        os._exit(0)
os.waitpid(first, 0)
record(10)
time.sleep(600)
