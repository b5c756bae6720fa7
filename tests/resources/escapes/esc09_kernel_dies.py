# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A daemon started by a kernel that dies
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import signal

from escape_tools import record, sleeper

argv = sleeper(9)

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
record(9)

# %%
os.kill(os.getpid(), signal.SIGKILL)
