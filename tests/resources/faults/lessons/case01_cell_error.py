# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Error in cell 3 of 5
#     level: beginner
#     minutes: 5
# ---

# %%
x = 1

# %%
y = x + 1

# %%
# the first failing statement of the lesson
z = y * 2
raise ValueError("boom")

# %%
raise RuntimeError("a later error must not be the one reported")

# %%
w = 4
