# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child in a lesson whose cell times out
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import time

from escape_tools import record, sleeper

# %%
child = subprocess.Popen(sleeper(7), env={}, start_new_session=True)
record(7)

# %%
time.sleep(600)  # past the cell timeout
