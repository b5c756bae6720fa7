# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: sys.exit part-way
#     level: beginner
#     minutes: 5
# ---

# %%
import sys

# %%
sys.exit(0)

# %%
a = 1

# %%
b = 2

# %%
c = 3
