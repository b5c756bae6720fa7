# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Kills its own process group
#     level: beginner
#     minutes: 5
# ---

# %%
import os
import signal

# %%
os.killpg(os.getpgid(0), signal.SIGKILL)
