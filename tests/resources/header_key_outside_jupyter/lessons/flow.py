# ---
# jupyter: {kernelspec: {display_name: Python 3, language: python, name: python3}, workshopkit: {title: Flow, level: beginner, minutes: 5}}
# ---

# %%
x = 1
