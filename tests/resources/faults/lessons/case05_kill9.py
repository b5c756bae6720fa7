# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: The kernel is killed
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import signal

# %%
os.kill(os.getpid(), signal.SIGKILL)
