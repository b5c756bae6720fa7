# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: A child in a lesson that runs out of time
#     level: beginner
#     minutes: 5
# ---

# %%
import subprocess
import time

from escape_tools import record, sleeper

# %%
child = subprocess.Popen(sleeper(8), env={}, start_new_session=True)
record(8)

# %%
time.sleep(3)  # each cell within the cell timeout, the lesson past its own

# %%
time.sleep(3)

# %%
time.sleep(3)

# %%
time.sleep(3)

# %%
time.sleep(3)
