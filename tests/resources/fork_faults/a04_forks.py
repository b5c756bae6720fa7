# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Forks and leaves the child
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import time

# %%
pid = os.fork()
if pid == 0:  # the child sleeps; the lesson moves on
    time.sleep(600)
    os._exit(0)
print("forked", pid > 0)
