# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A cell that ignores SIGINT
#     level: beginner
#     minutes: 5
# ---

# %%
import signal
import time

# %%
signal.signal(signal.SIGINT, signal.SIG_IGN)
time.sleep(600)
