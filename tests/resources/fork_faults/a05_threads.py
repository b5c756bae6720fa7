# ---
# jupyter:
#   kernelspec: {display_name: Python 3, language: python, name: python3}
#   workshopkit:
#     title: Leaves threads running
#     level: beginner
#     minutes: 5
# ---

# %%
import threading
import time

# %%
for daemon in (True, False):
    threading.Thread(target=time.sleep, args=(600,), daemon=daemon).start()
print(threading.active_count() > 2)
