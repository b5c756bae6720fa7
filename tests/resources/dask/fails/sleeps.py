# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: sleeps
#     title: Sleeps past the cell timeout
#     level: beginner
#     minutes: 5
# ---

# %%
import time

time.sleep(60)
