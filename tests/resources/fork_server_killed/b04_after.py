# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Runs after the server died (4)
#     level: beginner
#     minutes: 5
# ---

# %%
import os

print(os.getpid())
