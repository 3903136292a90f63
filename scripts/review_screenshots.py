#!/usr/bin/python3
"""Screenshots of the review page for docs/review.md, taken with headless chromium on a PHANTOM study.
usage: scripts/review_screenshots.py ECHOA OUT_DIR"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "review"))
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from test_review_browser import start_browser  # noqa: E402  (ECHOA must be set for the import)

echoa, out = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp()
loop = os.path.join(work, "phantom.dcm")
subprocess.run([echoa, "synth", "--out", loop, "--ef", "38", "--seed", "12", "--beats", "2"], check=True)
subprocess.run([echoa, "analyze", "--vlm", "--html", work, loop])
driver = start_browser(work, os.path.join(work, "profile"))
driver.set_window_size(1400, 1500)
driver.get("file://" + os.path.join(work, "phantom", "review.html"))
time.sleep(3)
driver.find_element(By.ID, "play").click()
driver.save_screenshot(os.path.join(out, "review_page.png"))
es = driver.execute_script("return echoReview.state.es.frame")
slider = driver.find_element(By.ID, "loop-slider")
slider.send_keys(Keys.HOME)
for _ in range(es + 2):
    slider.send_keys(Keys.ARROW_RIGHT)
driver.find_element(By.ID, "set-es").click()
step = driver.execute_script("return echoReview.handleStep(echoReview.state.es.contour)")
n = len(driver.execute_script("return echoReview.state.es.contour"))
driver.find_element(By.ID, "es-canvas").location_once_scrolled_into_view
x, y = driver.execute_script("return echoReview.handleClientXY('es', arguments[0])", (n // 4 // step) * step)
actions = ActionBuilder(driver)
actions.pointer_action.move_to_location(int(x), int(y)).pointer_down().move_to_location(int(x) + 15, int(y)).pointer_up()
actions.perform()
driver.find_element(By.ID, "role").send_keys("cardiologist")
driver.find_element(By.ID, "accept").click()
driver.find_element(By.ID, "export").click()
driver.execute_script("window.scrollTo(0, 0)")
driver.save_screenshot(os.path.join(out, "review_page_corrected.png"))
driver.quit()
