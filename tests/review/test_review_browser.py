#!/usr/bin/python3
"""The review page in a real headless browser (Debian chromium + chromedriver through selenium).

A phantom loop is analysed with `echoa analyze --html`; the page must show the JSON's values, play the
loop with a contour on every frame, let the test pick another ES frame and drag a contour point, and export
corrections that `echoa review apply` turns into an EF equal to an independent method-of-discs computation
written here. A rejected study's export must say so.

Environment: ECHOA (the echoa binary), ECHO_TEST_TMP (a scratch folder).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ECHOA = os.environ["ECHOA"]
WORK = os.path.join(os.environ.get("ECHO_TEST_TMP", tempfile.gettempdir()), "review_browser")


def run(*args, check=True):
    result = subprocess.run([ECHOA, *args], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"echoa {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def start_browser(download_dir: str, profile_dir: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile_dir}", "--window-size=1400,1800"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"download.default_directory": download_dir,
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": download_dir})
    return driver


# ---- an independent single-plane method of discs (numbers only; landmarks from the final result) ----
def discs_volume(contour, annulus_mid, apex, spacing, discs=20):
    """V = pi/4 * sum(d_i^2) * L / n, disc i cut perpendicular to the annulus-midpoint -> apex axis at
    (i + 0.5) L / n, its diameter the span between the outermost crossings of the contour."""
    sx, sy = spacing
    pts = [(x * sx, y * sy) for x, y in contour]
    ox, oy = annulus_mid[0] * sx, annulus_mid[1] * sy
    ax, ay = apex[0] * sx - ox, apex[1] * sy - oy
    length = math.hypot(ax, ay)
    ux, uy = ax / length, ay / length
    vx, vy = -uy, ux
    s = [(x - ox) * ux + (y - oy) * uy for x, y in pts]
    t = [(x - ox) * vx + (y - oy) * vy for x, y in pts]
    total = 0.0
    for k in range(discs):
        level = (k + 0.5) * length / discs
        crossings = []
        for i in range(len(pts)):
            j = (i + 1) % len(pts)
            lo, hi = min(s[i], s[j]), max(s[i], s[j])
            if lo <= level < hi and hi > lo:
                f = (level - s[i]) / (s[j] - s[i])
                crossings.append(t[i] + f * (t[j] - t[i]))
        d = max(crossings) - min(crossings) if crossings else 0.0
        total += d * d
    return math.pi / 4 * total * length / discs * 1e-3


def independent_ef(final):
    vols = []
    for key in ("ed", "es"):
        k = final[key]
        mid = [(k["annulus_left_px"][0] + k["annulus_right_px"][0]) / 2, (k["annulus_left_px"][1] + k["annulus_right_px"][1]) / 2]
        vols.append(discs_volume(k["contour_px"], mid, k["apex_px"], final["review"]["spacing_mm_per_px"]))
    return 100.0 * (vols[0] - vols[1]) / vols[0], vols


class ReviewPageInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        cls.loop = os.path.join(WORK, "phantom.dcm")
        run("synth", "--out", cls.loop, "--ef", "40", "--seed", "21", "--beats", "2", "--size", "320x240", "--fps", "30")
        cls.pages = os.path.join(WORK, "pages")
        analysed = run("analyze", "--html", cls.pages, cls.loop, check=False)
        assert analysed.returncode in (0, 1), analysed.stderr
        cls.study = os.path.join(cls.pages, "phantom")
        with open(os.path.join(cls.study, "result.json")) as f:
            cls.result = json.load(f)
        with open(cls.loop, "rb") as f:
            cls.loop_bytes = f.read()
        cls.downloads = os.path.join(WORK, "downloads")
        os.makedirs(cls.downloads)
        cls.driver = start_browser(cls.downloads, os.path.join(WORK, "profile"))

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def open_page(self):
        self.driver.get("file://" + os.path.join(self.study, "review.html"))
        # The page draws once every frame image is decoded.
        for _ in range(100):
            if self.driver.execute_script("return window.echoReview && window.echoReview.framesDrawn() > 0"):
                break
            time.sleep(0.1)
        self.assertEqual(self.driver.get_log("browser") if hasattr(self.driver, "get_log") else [], [])

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def exported(self, name="corrections.json"):
        path = os.path.join(self.downloads, name)
        for _ in range(50):
            if os.path.exists(path) and not os.path.exists(path + ".crdownload"):
                with open(path) as f:
                    text = f.read()
                if text:
                    return path, json.loads(text)
            time.sleep(0.1)
        self.fail("the page exported no corrections.json")

    def test_1_values_equal_the_json_and_no_network(self):
        self.open_page()
        r = self.result
        self.assertIsNotNone(r["ef_percent"], "the phantom must get an EF for this test")
        for element, key in (("ef", "ef_percent"), ("edv", "edv_ml"), ("esv", "esv_ml")):
            shown = self.driver.find_element(By.ID, element)
            self.assertEqual(float(shown.get_attribute("data-value")), r[key])
            self.assertEqual(shown.text, f"{r[key]:.1f}")
        self.assertEqual(int(self.driver.find_element(By.ID, "ai-ed-frame").text), r["ed"]["frame"])
        self.assertEqual(int(self.driver.find_element(By.ID, "ai-es-frame").text), r["es"]["frame"])
        codes = [li.get_attribute("data-code") for li in self.driver.find_elements(By.CSS_SELECTOR, "#reasons li[data-code]")]
        self.assertEqual(codes, [q["code"] for q in r["quality"]["reasons"]])
        self.assertEqual(self.driver.find_element(By.ID, "quality").get_attribute("data-value"), str(r["quality"]["pass"]).lower())
        self.assertEqual(len(self.driver.find_elements(By.CSS_SELECTOR, "#beats tbody tr")), len(r["beats"]))
        self.assertIn("clinician must confirm", self.driver.find_element(By.ID, "banner").text)
        # Nothing but inline data was loaded: no http(s) resource at all.
        resources = self.js("return performance.getEntriesByType('resource').map(e => e.name)")
        self.assertFalse([u for u in resources if not u.startswith(("data:", "blob:"))], resources)
        with open(os.path.join(self.study, "review.html")) as f:
            html = f.read()
        self.assertNotIn("http://", html.replace("http://www.w3.org/2000/svg", ""))
        self.assertNotIn("https://", html)

    def test_2_loop_plays_with_a_contour_on_every_frame(self):
        self.open_page()
        frames = self.result["frames"]
        first = self.js("return echoReview.framesDrawn()")
        seen = set()
        deadline = time.time() + 3 * frames * (self.result["frame_times_ms"][1] / 1000.0) + 5
        while time.time() < deadline and len(seen) < frames:
            seen.add(int(self.driver.find_element(By.ID, "loop-frame").text))
            time.sleep(0.02)
        self.assertGreater(self.js("return echoReview.framesDrawn()"), first + frames // 2, "the loop does not play")
        with_contour = [i for i, c in enumerate(self.result["review"]["frame_contours_px"]) if len(c) >= 3]
        drawn = self.js("return echoReview.contourFramesDrawn()")
        self.assertEqual(sorted(set(with_contour) & set(drawn)), with_contour, "a frame with a contour was shown without it")
        # The green contour is really on the canvas. The 2-px stroke is antialiased, so the pixel under a
        # vertex may be only partly covered: look at its 3x3 neighbourhood and require one pixel where green
        # exceeds red by most of the stroke's full 255 (grey image pixels have green == red).
        self.driver.find_element(By.ID, "play").click()
        current = self.js("return echoReview.current()")
        point = self.result["review"]["frame_contours_px"][current][0]
        pixels = self.js("""const c = document.getElementById('loop'), s = c.width / arguments[2];
            const x = Math.floor(arguments[0] * s) - 1, y = Math.floor(arguments[1] * s) - 1;
            return Array.from(c.getContext('2d').getImageData(x, y, 3, 3).data);""",
                         point[0], point[1], self.result["cols"])
        green_over_red = max(pixels[i + 1] - pixels[i] for i in range(0, len(pixels), 4))
        self.assertGreater(green_over_red, 150, f"no green contour pixel near {point}: RGBA {pixels}")

    def test_3_pick_es_drag_a_point_export_apply(self):
        self.open_page()
        r = self.result
        self.driver.find_element(By.ID, "play").click()  # pause
        new_es = r["es"]["frame"] + 2
        slider = self.driver.find_element(By.ID, "loop-slider")
        slider.send_keys(Keys.HOME)
        for _ in range(new_es):
            slider.send_keys(Keys.ARROW_RIGHT)
        self.assertEqual(int(self.driver.find_element(By.ID, "loop-frame").text), new_es)
        self.driver.find_element(By.ID, "set-es").click()
        self.assertEqual(int(self.driver.find_element(By.ID, "es-frame").text), new_es)
        # Drag one handle on the ES frame 12 screen pixels outwards (to the right).
        step = self.js("return echoReview.handleStep(echoReview.state.es.contour)")
        n = len(self.js("return echoReview.state.es.contour"))
        index = (n // 4 // step) * step
        before = self.js("return echoReview.state.es.contour[arguments[0]]", index)
        x, y = self.js("return echoReview.handleClientXY('es', arguments[0])", index)
        self.driver.find_element(By.ID, "es-canvas").location_once_scrolled_into_view
        x, y = self.js("return echoReview.handleClientXY('es', arguments[0])", index)
        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(int(round(x)), int(round(y))).pointer_down()
        actions.pointer_action.move_to_location(int(round(x)) + 12, int(round(y))).pointer_up()
        actions.perform()
        after = self.js("return echoReview.state.es.contour[arguments[0]]", index)
        self.assertGreater(after[0] - before[0], 1.0, "the drag did not move the contour point")
        self.driver.find_element(By.ID, "role").send_keys("cardiologist")
        self.driver.find_element(By.ID, "accept").click()
        self.assertEqual(self.driver.find_element(By.ID, "decision").get_attribute("data-value"), "correct")
        self.driver.find_element(By.ID, "export").click()
        path, corrections = self.exported()
        self.assertEqual(corrections["decision"], "correct")
        self.assertEqual(corrections["es"]["frame"], new_es)
        self.assertEqual(corrections["ed"]["frame"], r["ed"]["frame"])
        self.assertEqual([a["action"] for a in corrections["actions"]], ["pick_frame", "move_point"])
        self.assertEqual(corrections["study_sha256"], r["review"]["study_sha256"])
        applied = os.path.join(WORK, "applied")
        run("review", "apply", os.path.join(self.study, "result.json"), path, "--out", applied)
        with open(os.path.join(applied, "final.json")) as f:
            final = json.load(f)
        with open(os.path.join(applied, "audit.json")) as f:
            audit = json.load(f)
        ef, (edv, esv) = independent_ef(final)
        print(f"review apply EF {final['ef_percent']:.4f}% (EDV {final['edv_ml']:.3f}, ESV {final['esv_ml']:.3f} mL); "
              f"independent method of discs {ef:.4f}% ({edv:.3f}, {esv:.3f} mL); AI EF {r['ef_percent']:.4f}%")
        self.assertAlmostEqual(final["ef_percent"], ef, places=6)
        self.assertAlmostEqual(final["esv_ml"], esv, places=6)
        self.assertEqual(final["es"]["contour_px"], corrections["es"]["contour_px"])
        self.assertEqual({c["field"] for c in audit["changes"]}, {"es.frame", "es.contour_px"})
        self.assertEqual(audit["provenance"]["ed.frame"], "ai")
        self.assertEqual(audit["provenance"]["es.frame"], "clinician")
        self.assertEqual(audit["original"]["ef_percent"], r["ef_percent"])
        self.assertEqual(audit["final"]["ef_percent"], final["ef_percent"])
        # Applying the same corrections again gives the same files, byte for byte.
        again = os.path.join(WORK, "applied_again")
        run("review", "apply", os.path.join(self.study, "result.json"), path, "--out", again)
        for name in ("final.json", "audit.json"):
            with open(os.path.join(applied, name), "rb") as a, open(os.path.join(again, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)
        os.remove(path)

    def test_4_rejected_study_export_says_so(self):
        self.open_page()
        self.driver.find_element(By.ID, "role").send_keys("sonographer")
        self.driver.find_element(By.ID, "reject-reason").send_keys("apex foreshortened")
        self.driver.find_element(By.ID, "reject").click()
        self.assertIn("rejected", self.driver.find_element(By.ID, "decision").text)
        self.driver.find_element(By.ID, "export").click()
        path, corrections = self.exported()
        self.assertEqual(corrections["decision"], "reject")
        self.assertEqual(corrections["reject_reason"], "apex foreshortened")
        self.assertNotIn("es", corrections)
        study = os.path.join(WORK, "rejected_study")
        shutil.copytree(self.study, study)
        run("review", "apply", os.path.join(study, "result.json"), path)
        with open(os.path.join(study, "final.json")) as f:
            final = json.load(f)
        self.assertIsNone(final["ef_percent"])
        self.assertEqual(final["clinician_review"]["status"], "rejected")
        self.assertIn("apex foreshortened", final["ef_withheld_reason"])
        site = os.path.join(WORK, "site")
        summary = run("review", "export", study, "--to", site).stdout
        self.assertIn("0 exported", summary)
        self.assertIn("rejected by the reviewer (sonographer): apex foreshortened", summary)
        with open(os.path.join(site, "review_export.json")) as f:
            self.assertEqual(len(json.load(f)["rejected"]), 1)
        with open(self.loop, "rb") as f:
            self.assertEqual(f.read(), self.loop_bytes, "export modified the source")
        os.remove(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
