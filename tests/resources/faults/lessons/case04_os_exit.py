# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: The kernel exits
#     level: beginner
#     minutes: 5
# ---

# %%
import os

# %%
os._exit(1)

# %%
after = True
