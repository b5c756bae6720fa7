# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     id: cell-error
#     title: A cell error
#     level: beginner
#     minutes: 5
# ---

# %%
x = 1

# %%
y = x + 1
raise ValueError(f"boom at {y}")
