//! The portal in a real browser: Debian's Chromium, driven through its chromedriver. The main
//! path of a recognition is clicked and typed as a user would, from the enterprise's form to
//! the reward's payment, with screenshots at the key steps and an axe-core accessibility check
//! of each main page. A second test walks the staff's pages: an inspector's case from its
//! opening to its closing without penalty, with the enterprise's part in it, then the
//! administrator's users, mail queue, audit check and enterprise directory.
//!
//! Needs /usr/bin/chromium and /usr/bin/chromedriver (`apt-get install chromium chromium-driver`);
//! without them the test says what it skipped and passes, unless `CERTFLOW_REQUIRE_BROWSER=1`.
//! The accessibility check needs axe-core (`npm ci --prefix tests/a11y`). Screenshots are written
//! to `CERTFLOW_SCREENSHOTS` (default /var/tmp/certflow-screenshots). Nothing is downloaded.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use certflow::domain::role::Role;
use certflow::engine::{NewUser, RoleGrant};
use serde_json::{Value, json};
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

use crate::dual_test;
use crate::helpers::{PASSWORD, TestApp, email_of};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = "tests/a11y/node_modules/axe-core/axe.min.js";

/// The rules the portal promises, checked on every page whatever axe rates their impact.
const PROMISED: [&str; 5] = ["label", "heading-order", "color-contrast", "document-title", "html-has-lang"];

/// One browser at a time: the SQLite and PostgreSQL runs take turns (the machine has 2 cores).
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn required() -> bool {
    std::env::var("CERTFLOW_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// Whether Chromium and its driver are installed; says what is skipped when they are not.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !required(),
        "CERTFLOW_REQUIRE_BROWSER=1 but {missing:?} missing: apt-get install chromium chromium-driver"
    );
    eprintln!("SKIPPED the browser test: {missing:?} not installed (apt-get install chromium chromium-driver)");
    false
}

/// The screenshot folder, created if missing, without the screenshots of an earlier run (cleared
/// once per run, so that one browser test does not remove another's).
fn screenshot_dir() -> PathBuf {
    static CLEARED: std::sync::Once = std::sync::Once::new();
    let dir = std::env::var("CERTFLOW_SCREENSHOTS").unwrap_or_else(|_| "/var/tmp/certflow-screenshots".into());
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    CLEARED.call_once(|| {
        let ours = regex::Regex::new(r"^([0-9]{2}-|FAILED-).*\.png$").unwrap();
        for e in std::fs::read_dir(&dir).expect("screenshot folder").filter_map(Result::ok) {
            if ours.is_match(&e.file_name().to_string_lossy()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    });
    dir
}

/// chromedriver and the Chromium it started. Dropping it (also when the test panics) ends the
/// browser session, then chromedriver, then anything still running on this profile.
struct Chrome {
    driver: Option<WebDriver>,
    base: String,
    driver_process: Child,
    profile: tempfile::TempDir,
    shots: Option<PathBuf>,
    /// Accessibility findings over all pages checked: (page, violation).
    findings: Vec<(String, Value)>,
    axe: Option<String>,
    began: Instant,
}

impl Drop for Chrome {
    fn drop(&mut self) {
        // The session is still open here only when the test failed. End the browser by process
        // id: chromedriver, then the Chromium processes started on our profile. thirtyfour's own
        // teardown of an open session blocks for its two-minute request timeout when run while
        // the test unwinds, so the handle is let go without it.
        let _ = self.driver_process.kill();
        let _ = self.driver_process.wait();
        let profile = self.profile.path().to_string_lossy().to_string();
        for pid in leftover_processes(&profile) {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
        if let Some(driver) = self.driver.take() {
            std::mem::forget(driver);
        }
    }
}

/// Ids of the processes whose command line names `profile`.
fn leftover_processes(profile: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&format!("--user-data-dir={profile}")))
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Chrome {
    /// Starts chromedriver on a free port and a headless Chromium in Chinese.
    async fn start(base: &str, shots: bool) -> Chrome {
        let began = Instant::now();
        let port = free_port();
        let profile = tempfile::tempdir().expect("profile folder");
        let driver_process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(CHROMIUM).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1280,1000",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--lang=zh-CN",
            "--force-device-scale-factor=1",
            &format!("--user-data-dir={}", profile.path().display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_experimental_option("prefs", json!({"intl.accept_languages": "zh-CN,zh"})).unwrap();
        let driver = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.expect("a browser session");
        eprintln!("browser started in {:.1} s", began.elapsed().as_secs_f32());
        let axe = std::fs::read_to_string(AXE).ok();
        if axe.is_none() {
            assert!(!required(), "CERTFLOW_REQUIRE_BROWSER=1 but {AXE} is missing: npm ci --prefix tests/a11y");
            eprintln!("SKIPPED the accessibility check: {AXE} missing (npm ci --prefix tests/a11y)");
        }
        Chrome {
            driver: Some(driver),
            base: base.to_string(),
            driver_process,
            profile,
            shots: shots.then(screenshot_dir),
            findings: Vec::new(),
            axe: if shots { axe } else { None },
            began: Instant::now(),
        }
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().expect("the browser session")
    }

    /// Ends the browser session (on a panic, `Drop` does it).
    async fn quit(mut self) {
        if let Some(d) = self.driver.take() {
            d.quit().await.unwrap();
        }
    }

    async fn go(&self, path: &str) {
        self.driver().goto(format!("{}{path}", self.base)).await.unwrap();
    }

    async fn path(&self) -> String {
        let url = self.driver().current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    async fn text(&self) -> String {
        self.driver().find(By::Tag("body")).await.unwrap().text().await.unwrap()
    }

    /// Asserts the page shows each text; on failure keeps a screenshot and prints the page.
    async fn see(&self, step: &str, texts: &[&str]) {
        eprintln!("[{:6.1}s] {step}", self.began.elapsed().as_secs_f32());
        let body = self.text().await;
        let missing: Vec<&&str> = texts.iter().filter(|t| !body.contains(**t)).collect();
        if !missing.is_empty() {
            self.shot(&format!("FAILED-{step}")).await;
            panic!("{step}: the page {} does not show {missing:?}; it shows:\n{body}", self.path().await);
        }
    }

    async fn not_see(&self, step: &str, text: &str) {
        let body = self.text().await;
        assert!(!body.contains(text), "{step}: the page {} shows {text:?}:\n{body}", self.path().await);
    }

    async fn by_id(&self, id: &str) -> WebElement {
        self.driver().find(By::Id(id)).await.unwrap_or_else(|e| panic!("no #{id} on {}: {e}", self.base))
    }

    async fn exists(&self, css: &str) -> bool {
        !self.driver().find_all(By::Css(css)).await.unwrap().is_empty()
    }

    /// Types into the input with this id, replacing what was there.
    async fn fill(&self, id: &str, value: &str) {
        let el = self.by_id(id).await;
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    /// Chooses the option with this visible text.
    async fn choose(&self, id: &str, option: &str) {
        let el = self.by_id(id).await;
        SelectElement::new(&el).await.unwrap().select_by_visible_text(option).await.unwrap();
    }

    /// Types a date into a date input the way its segments are laid out: month, day, year
    /// where the browser has only its English locale (Debian's `chromium` without
    /// `chromium-l10n`), else year, month, day as a Chinese browser shows them.
    async fn fill_date(&self, id: &str, ymd: &str) {
        let el = self.by_id(id).await;
        let parts: Vec<&str> = ymd.split('-').collect();
        el.send_keys(format!("{}{}{}", parts[1], parts[2], parts[0])).await.unwrap();
        if el.value().await.unwrap().as_deref() != Some(ymd) {
            el.clear().await.unwrap();
            el.send_keys(parts[0]).await.unwrap();
            el.send_keys(Key::Right + parts[1] + parts[2]).await.unwrap();
        }
        let value = el.value().await.unwrap().unwrap_or_default();
        assert_eq!(value, ymd, "the date typed into #{id}");
    }

    /// Clicks a button by its text (optionally inside the element named `within`) and
    /// waits for the page that the form's POST leads to.
    async fn press(&self, label: &str, within: Option<&str>) {
        let root = within.map_or_else(|| ".".to_string(), |w| format!("//{w}"));
        let xpath = format!("{root}//button[normalize-space()='{label}']");
        let button = self.driver().find(By::XPath(&xpath)).await.unwrap_or_else(|_| panic!("no button {label:?}"));
        button.click().await.unwrap();
        button.wait_until().stale().await.unwrap();
    }

    /// Clicks a link by its text and waits for the next page.
    async fn follow(&self, label: &str) {
        let xpath = format!("//a[normalize-space()='{label}']");
        let link = self.driver().find(By::XPath(&xpath)).await.unwrap_or_else(|_| panic!("no link {label:?}"));
        link.click().await.unwrap();
        link.wait_until().stale().await.unwrap();
    }

    /// The score panel's row of an indicator: points, maximum, points lost.
    async fn score_row(&self, title: &str) -> Vec<String> {
        // The indicator is the row's header; its cells are points, maximum and points lost.
        let xpath =
            format!("//section[contains(@class, 'score')]//tr[th[starts-with(normalize-space(), '{title}')]]/td");
        let cells = self.driver().find_all(By::XPath(xpath)).await.unwrap();
        let mut texts = Vec::new();
        for c in &cells {
            texts.push(c.text().await.unwrap());
        }
        texts
    }

    /// Opens an application from the list or inbox on the page: its link.
    async fn open(&self, id: &str) {
        let link = self.driver().find(By::Css(format!("a[href='/applications/{id}']"))).await.unwrap();
        link.click().await.unwrap();
        link.wait_until().stale().await.unwrap();
    }

    async fn sign_in(&self, email: &str) {
        self.sign_in_as(email, "登录").await;
    }

    /// Signs in with the form, whose button reads `button` in the page's language.
    async fn sign_in_as(&self, email: &str, button: &str) {
        self.go("/login").await;
        self.fill("f-email", email).await;
        self.fill("f-password", PASSWORD).await;
        self.press(button, None).await;
        assert_eq!(self.path().await, "/", "signed in as {email}");
    }

    async fn sign_out(&self) {
        let button = self.driver().find(By::Css("form[action='/logout'] button")).await.expect("a sign-out button");
        button.click().await.unwrap();
        button.wait_until().stale().await.unwrap();
        assert_eq!(self.path().await, "/login");
    }

    /// A full-page PNG into the screenshot folder (only in the run that keeps screenshots).
    async fn shot(&self, name: &str) {
        self.shot_of("html", name).await;
    }

    /// A PNG of one element at full size (the diagram is too small to read in a full page): the
    /// window is made as tall as the page for the picture.
    async fn shot_of(&self, css: &str, name: &str) {
        let Some(dir) = &self.shots else { return };
        let sizes = self
            .driver()
            .execute(
                "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]",
                Vec::new(),
            )
            .await
            .map(|r| r.json().clone())
            .unwrap_or_default();
        let page = sizes[0].as_u64().and_then(|h| u32::try_from(h).ok()).unwrap_or(1000).min(6000);
        let chrome = sizes[1].as_u64().and_then(|h| u32::try_from(h).ok()).unwrap_or(0);
        let tall = page + chrome > 1000;
        if tall {
            self.driver().set_window_rect(0, 0, 1280, page + chrome).await.unwrap();
        }
        let png = if css == "html" {
            self.driver().screenshot_as_png().await.unwrap()
        } else {
            self.driver().find(By::Css(css)).await.unwrap().screenshot_as_png().await.unwrap()
        };
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        if tall {
            self.driver().set_window_rect(0, 0, 1280, 1000).await.unwrap();
        }
    }

    /// Runs axe-core on the current page; keeps what must be fixed for the report at the end.
    async fn check_a11y(&mut self, page: &str) {
        let Some(axe) = &self.axe else { return };
        // The page's CSP has `script-src 'none'`: a <script> tag would be refused, but WebDriver
        // evaluates this through the DevTools protocol, which the page's policy does not govern.
        let script = format!(
            "{axe}\n;return window.axe.run(document, {{runOnly: {{type: 'tag', values: \
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}, resultTypes: ['violations']}})\
             .then(r => ({{passes: r.passes.map(p => p.id), inapplicable: r.inapplicable.map(p => p.id), \
             incomplete: r.incomplete.map(p => p.id + ' ' + p.nodes.map(n => n.target.join(' ')).join(', ')), \
             violations: r.violations.map(v => ({{id: v.id, impact: v.impact, help: v.help, \
             nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}}))}}));"
        );
        let found = self.driver().execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("axe on {page}: {e}"));
        let r = found.json();
        let ids = |key: &str| -> Vec<String> {
            r[key]
                .as_array()
                .unwrap_or_else(|| panic!("axe on {page}: {r}"))
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        };
        let (passes, inapplicable, incomplete) = (ids("passes"), ids("inapplicable"), ids("incomplete"));
        let violations = r["violations"].as_array().cloned().unwrap_or_default();
        eprintln!(
            "axe {page}: {} rules passed, {} not applicable, {} violations; to check by hand: {incomplete:?}",
            passes.len(),
            inapplicable.len(),
            violations.len()
        );
        for rule in PROMISED {
            let ran = [&passes, &inapplicable].iter().any(|l| l.iter().any(|id| id == rule))
                || incomplete.iter().any(|i| i.starts_with(&format!("{rule} ")))
                || violations.iter().any(|v| v["id"] == rule);
            assert!(ran, "axe on {page} did not run the rule {rule}");
        }
        for v in violations {
            self.findings.push((page.to_string(), v));
        }
    }

    /// Prints every accessibility finding, and fails on the serious and critical ones and on
    /// the rules the portal promises (labels, heading order, contrast, title, language).
    fn report_a11y(&self) {
        if self.axe.is_none() {
            return;
        }
        let mut failing = Vec::new();
        for (page, v) in &self.findings {
            let id = v["id"].as_str().unwrap_or_default();
            let impact = v["impact"].as_str().unwrap_or_default();
            let line = format!("{page}: {id} ({impact}): {} — {}", v["help"].as_str().unwrap_or_default(), v["nodes"]);
            eprintln!("axe: {line}");
            if matches!(impact, "serious" | "critical") || PROMISED.contains(&id) {
                failing.push(line);
            }
        }
        assert!(failing.is_empty(), "accessibility violations:\n{}", failing.join("\n"));
    }
}

/// A staff account with Chinese as its language; returns its e-mail address.
async fn staff(app: &TestApp, role: Role, jurisdiction: Option<&str>, email: &str, name: &str) -> String {
    app.engine
        .create_user_unchecked(NewUser {
            email: email.into(),
            password: PASSWORD.into(),
            name: name.into(),
            roles: vec![RoleGrant { role, jurisdiction: jurisdiction.map(str::to_string) }],
            enterprise_id: None,
            lang: Some("zh-CN".into()),
        })
        .await
        .expect("staff account");
    email.to_string()
}

/// A small valid PDF for the file field.
fn sample_pdf(dir: &Path) -> PathBuf {
    let path = dir.join("审计报告.pdf");
    let pdf = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
               3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    std::fs::write(&path, pdf).unwrap();
    path
}

dual_test!(browser_main_path, |app: TestApp| async move {
    if !browser_installed() {
        return;
    }
    let _turn = ONE_BROWSER.lock().await;
    let started = Instant::now();
    // Screenshots and the accessibility check once: the pages do not depend on the database.
    let sqlite = app.engine.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let mut b = Chrome::start(&app.address, sqlite).await;
    main_path(&app, &mut b).await;
    b.report_a11y();
    b.quit().await;
    eprintln!(
        "browser main path ({}): {:.1} s",
        if sqlite { "SQLite" } else { "PostgreSQL" },
        started.elapsed().as_secs_f32()
    );
});

async fn main_path(app: &TestApp, b: &mut Chrome) {
    let district = staff(app, Role::Reviewer, Some("jingkou"), "district@gov.cn", "京口区审核员").await;
    let city = staff(app, Role::Reviewer, Some("city"), "city@gov.cn", "市级审核员").await;
    let expert1 = staff(app, Role::Expert, Some("province"), "expert1@gov.cn", "专家甲").await;
    let expert2 = staff(app, Role::Expert, Some("province"), "expert2@gov.cn", "专家乙").await;
    let finance = staff(app, Role::Finance, None, "finance@gov.cn", "财务人员").await;

    // The sign-in page, signed out.
    b.go("/login").await;
    b.see("sign-in", &["登录", "邮箱", "密码"]).await;
    b.check_a11y("/login").await;

    // An enterprise registers from the sign-in page; a mistyped credit code is refused first.
    b.follow("注册企业账户").await;
    assert_eq!(b.path().await, "/register");
    b.see("register", &["企业注册", "统一社会信用代码", "所属辖区"]).await;
    let ent = "zhang.wei@sensor.cn";
    let uscc = app.new_uscc();
    let mistyped = format!("{}{}", &uscc[..17], if uscc.ends_with('0') { '1' } else { '0' });
    b.fill("f-name", "镇江传感科技有限公司").await;
    b.fill("f-uscc", &mistyped).await;
    b.choose("f-district", "京口区").await;
    b.fill("f-user_name", "张伟").await;
    b.fill("f-email", ent).await;
    b.fill("f-password", PASSWORD).await;
    b.press("注册并登录", None).await;
    b.see("register refused", &["请修改以下内容", "统一社会信用代码"]).await;
    assert!(b.exists(".errors a[href='#f-uscc']").await, "the summary links to the field");
    assert!(b.exists(".field.invalid #f-uscc").await, "the field is marked");
    assert_eq!(b.by_id("f-name").await.value().await.unwrap().as_deref(), Some("镇江传感科技有限公司"));
    b.shot("01-register-error").await;
    b.check_a11y("/register (with an error)").await;
    b.fill("f-uscc", &uscc).await;
    b.fill("f-password", PASSWORD).await;
    b.press("注册并登录", None).await;
    assert_eq!(b.path().await, "/", "registered and signed in");
    b.see("registered", &["张伟", "暂无申请。"]).await;
    b.sign_out().await;

    // The enterprise signs in and starts the sample recognition from the catalogue.
    b.sign_in(ent).await;
    b.see("home, empty", &["申请", "暂无申请。"]).await;
    b.check_a11y("/ (enterprise)").await;
    b.follow("新建申请").await;
    assert_eq!(b.path().await, "/applications/new");
    b.see("catalogue", &["可申报的项目", "示例认定流程"]).await;
    b.check_a11y("/applications/new").await;
    let start = b
        .driver()
        .find(By::XPath("//li[.//h2[normalize-space()='示例认定流程']]//button[normalize-space()='开始申报']"))
        .await
        .expect("the sample in the catalogue");
    start.click().await.unwrap();
    start.wait_until().stale().await.unwrap();
    let page = b.path().await;
    assert!(page.starts_with("/applications/"), "{page}");
    let id = page.trim_start_matches("/applications/").to_string();
    b.see("new draft", &["示例认定流程", "企业填报", "上年度营业收入（元）", "保存草稿"]).await;

    // Fill in the form, with a phone number the rule refuses.
    b.fill("f-revenue", "1000000").await;
    b.fill("f-rd_expense", "40000").await;
    b.fill("f-growth", "12").await;
    b.fill("f-staff", "50").await;
    b.fill_date("f-founded", "2015-03-01").await;
    b.choose("f-sector", "战略性新兴产业").await;
    b.fill("f-contact", "电话号码").await;
    b.fill("f-summary", "镇江一家做工业传感器的企业。").await;
    b.press("保存草稿", None).await;
    b.see("save refused", &["请修改以下内容", "联系电话"]).await;
    assert!(b.exists(".errors a[href='#f-contact']").await, "the summary links to the field");
    assert!(b.exists(".field.invalid #f-contact").await, "the field is marked");
    assert_eq!(b.by_id("f-revenue").await.value().await.unwrap().as_deref(), Some("1000000"), "input kept");
    b.shot("02-application-error").await;
    b.fill("f-contact", "0511-1234567").await;
    b.press("保存草稿", None).await;
    b.not_see("saved", "请修改以下内容").await;
    b.see("score", &["评分", "合格线 40", "达标", "加大研发投入"]).await;
    let total = b.driver().find(By::Css(".score .total strong")).await.unwrap().text().await.unwrap();
    assert_eq!(total, "40");
    // Per indicator: points earned, maximum, points lost (4% R&D earns 15 of 20).
    assert_eq!(b.score_row("研发费用占营业收入比重").await, ["15", "20", "5"]);
    assert_eq!(b.score_row("主营业务收入增长率").await, ["15", "20", "5"]);
    assert_eq!(b.score_row("主导产品所属领域").await, ["10", "10", "0"]);

    // The audited report, when the page has a file input for it.
    if b.exists("#u-evidence").await {
        let pdf = sample_pdf(b.profile.path());
        b.by_id("u-evidence").await.send_keys(pdf.to_string_lossy().as_ref()).await.unwrap();
        b.press("上传", None).await;
        b.see("uploaded", &["审计报告.pdf"]).await;
    } else {
        eprintln!("NOTE: no upload input #u-evidence on the application page yet; the upload step is skipped");
    }
    b.shot("03-application-score").await;
    b.check_a11y("/applications/<id> (draft)").await;

    // Submit: the application goes to the district.
    b.press("提交", None).await;
    b.see("submitted", &["区级初审", "办理记录"]).await;
    b.not_see("submitted", "保存草稿").await;
    b.sign_out().await;

    // The district reviewer finds it in the inbox and returns it with a comment.
    b.sign_in(&district).await;
    b.follow("待办").await;
    b.see("inbox", &["待办事项", "示例认定流程", "区级初审"]).await;
    b.check_a11y("/tasks").await;
    b.open(&id).await;
    b.see("review", &["区级初审", "退回修改", "通过", "意见"]).await;
    b.fill("c-return", "请补充研发费用明细，研发费用应含人员人工。").await;
    b.press("退回修改", None).await;
    b.see("returned", &["企业填报", "请补充研发费用明细，研发费用应含人员人工。"]).await;
    b.shot("04-reviewer-return").await;
    b.check_a11y("/applications/<id> (reviewer)").await;
    b.sign_out().await;

    // The enterprise reads the comment, corrects the R&D expense and resubmits.
    b.sign_in(ent).await;
    b.see("home with the returned application", &["示例认定流程", "企业填报", "提交"]).await;
    b.open(&id).await;
    b.see("comment seen", &["退回修改", "请补充研发费用明细，研发费用应含人员人工。"]).await;
    b.fill("f-rd_expense", "60000").await;
    b.press("保存草稿", None).await;
    let total = b.driver().find(By::Css(".score .total strong")).await.unwrap().text().await.unwrap();
    assert_eq!(total, "45", "6% R&D earns the full 20 points");
    assert_eq!(b.score_row("研发费用占营业收入比重").await, ["20", "20", "0"]);
    b.press("提交", None).await;
    b.see("resubmitted", &["区级初审"]).await;
    b.sign_out().await;

    // District and city approve; two experts agree; publicity starts.
    for (who, button, next) in [
        (&district, "通过", "市级审核"),
        (&city, "通过", "专家评审"),
        (&expert1, "同意", "专家评审"),
        (&expert2, "同意", "公示"),
    ] {
        b.sign_in(who).await;
        b.follow("待办").await;
        b.open(&id).await;
        b.press(button, None).await;
        b.see(&format!("{who} {button}"), &[next]).await;
        b.sign_out().await;
    }

    // Five working days of publicity pass; the system publishes and grants the certification.
    app.advance(chrono::Duration::days(8));
    assert_eq!(app.sweep().await, 1, "publicity ends");
    b.sign_in(ent).await;
    b.see("recognised in the list", &["认定通过"]).await;
    b.open(&id).await;
    b.see("recognised", &["认定通过", "公示期满"]).await;
    b.shot("05-recognised").await;
    b.follow("我的申请").await;
    b.see("certification held", &["已获认定", "有效", "2029-03-10"]).await;
    b.shot("06-home-certification").await;
    b.check_a11y("/ (enterprise, certified)").await;
    b.sign_out().await;

    // Finance approves the reward and records its payment. The disbursement queue (/finance)
    // lists the `reward` category only, so the sample's reward is reached from the inbox; the
    // finance page shows what the payment did to the budget.
    b.sign_in(&finance).await;
    b.follow("资金发放").await;
    assert_eq!(b.path().await, "/finance");
    b.see("budgets before", &["奖励资金发放", "示例奖励资金", "¥1,000,000.00"]).await;
    b.follow("待办").await;
    b.see("finance inbox", &["示例奖励发放", "财务审核", "镇江传感科技有限公司"]).await;
    let reward = b
        .driver()
        .find(By::XPath("//tr[td[normalize-space()='示例奖励发放']]//a"))
        .await
        .expect("the reward in the inbox");
    reward.click().await.unwrap();
    b.see("reward", &["示例奖励发放", "100000", "财务审核"]).await;
    b.press("批准", Some("main")).await;
    b.see("reward approved", &["待付款", "付款凭证号", "确认付款"]).await;
    b.press("确认付款", Some("main")).await;
    b.see("payment needs its reference", &["请填写付款凭证号"]).await;
    b.fill("a-pay-payment_reference", "ZJ-2026-0001").await;
    b.shot("07-reward-payment").await;
    b.check_a11y("/applications/<id> (reward, finance)").await;
    b.press("确认付款", Some("main")).await;
    b.see("paid", &["已付款", "ZJ-2026-0001"]).await;
    b.follow("资金发放").await;
    let row =
        b.driver().find(By::XPath("//tr[th[normalize-space()='示例奖励资金']]")).await.unwrap().text().await.unwrap();
    assert!(row.contains("¥100,000.00") && row.contains("¥900,000.00"), "spent and left: {row}");
    b.shot("08-finance").await;
    b.check_a11y("/finance").await;

    // The workflows with their diagrams, and the dashboard.
    b.follow("流程").await;
    b.see("workflows", &["示例认定流程", "示例奖励发放"]).await;
    b.check_a11y("/workflows").await;
    b.follow("示例认定流程").await;
    b.see("diagram", &["流程图", "环节与操作", "区级初审", "专家评审", "认定通过"]).await;
    assert!(b.exists("figure.diagram svg").await, "the diagram is drawn");
    b.shot("09-workflow-diagram").await;
    b.shot_of("figure.diagram", "09-workflow-diagram-detail").await;
    b.check_a11y("/workflows/sample-recognition").await;
    b.follow("统计").await;
    b.see("dashboard", &["计划看板"]).await;
    b.shot("10-dashboard").await;
    b.check_a11y("/dashboard").await;
    b.sign_out().await;

    // The enterprise sees the reward paid, then reads its pages in English.
    b.sign_in(ent).await;
    b.see("reward in the list", &["示例奖励发放", "已付款"]).await;
    b.follow("English").await;
    b.see("home in English", &["Applications", "Certifications held", "Active", "Recognised", "Paid"]).await;
    b.open(&id).await;
    b.see(
        "application in English",
        &["Sample recognition", "Recognised", "History", "Last year's operating revenue (yuan)", "Return for revision"],
    )
    .await;
    assert_eq!(b.driver().find(By::Tag("html")).await.unwrap().attr("lang").await.unwrap().as_deref(), Some("en"));
    b.shot("11-application-english").await;
    b.check_a11y("/applications/<id> (English)").await;
    b.sign_out().await;
    b.see("sign-in in English", &["Sign in", "E-mail", "Password"]).await;
    b.follow("中文").await;
    b.see("back in Chinese", &["登录"]).await;
}

dual_test!(browser_staff_path, |app: TestApp| async move {
    if !browser_installed() {
        return;
    }
    let _turn = ONE_BROWSER.lock().await;
    let started = Instant::now();
    let sqlite = app.engine.db.get_database_backend() == sea_orm::DbBackend::Sqlite;
    let mut b = Chrome::start(&app.address, sqlite).await;
    staff_path(&app, &mut b).await;
    b.report_a11y();
    b.quit().await;
    eprintln!(
        "browser staff path ({}): {:.1} s",
        if sqlite { "SQLite" } else { "PostgreSQL" },
        started.elapsed().as_secs_f32()
    );
});

/// The state title a case or application page shows.
async fn state_shown(b: &Chrome) -> String {
    b.driver().find(By::Css("p.meta strong")).await.unwrap().text().await.unwrap()
}

async fn staff_path(app: &TestApp, b: &mut Chrome) {
    let (ent_id, ent_token) = app.register_enterprise("jingkou").await;
    let me = app.get(&format!("/api/enterprises/{ent_id}"), &ent_token).await;
    let ent_name = me.body["name"].as_str().unwrap().to_string();
    let uscc = me.body["uscc"].as_str().unwrap().to_string();
    let ent = email_of(app, &ent_token).await;
    let inspector = staff(app, Role::Inspector, Some("jingkou"), "inspector@gov.cn", "京口区检查员").await;

    // The inspector opens a case from the cases page.
    b.sign_in(&inspector).await;
    b.follow("监管案件").await;
    assert_eq!(b.path().await, "/cases");
    b.see("cases, none yet", &["监管案件", "没有您可查看的案件。"]).await;
    b.check_a11y("/cases (empty)").await;
    b.follow("立案登记").await;
    assert_eq!(b.path().await, "/cases/new", "the only kind of case is chosen at once");
    b.see("case form", &["包容审慎监管（首违不罚）", "违法行为类别", "危害后果", "证据材料（执法记录编号）"]).await;
    assert!(!b.exists("[name='rectification_days']").await, "the days come with the order");
    b.choose("f-enterprise_id", &format!("{ent_name}（{uscc}）")).await;
    b.choose("f-violation_kind", "消防").await;
    b.fill("f-violation_item", "疏散通道堆放杂物").await;
    b.fill("f-legal_basis", "《中华人民共和国消防法》第二十八条").await;
    b.fill_date("f-inspection_date", "2026-03-01").await;
    b.choose("f-harm_level", "危害后果轻微").await;
    b.fill("f-facts", "检查发现二号车间疏散通道堆放纸箱。").await;
    b.fill("f-evidence_reference", "ZJ-XF-2026-0301-07").await;
    b.shot("20-case-new").await;
    b.check_a11y("/cases/new").await;
    b.press("立案", None).await;
    let page = b.path().await;
    assert!(page.starts_with("/applications/"), "{page}");
    let id = page.trim_start_matches("/applications/").to_string();
    b.see("case opened", &["执法人员研判", &ent_name, "疏散通道堆放杂物", "整改期限（日）"]).await;
    assert_eq!(state_shown(b).await, "执法人员研判");

    // The order, with its requirement and 15 days: the page shows the deadline.
    b.fill("c-order_rectification", "清理二号车间疏散通道，保持畅通。").await;
    b.fill("a-order_rectification-rectification_days", "15").await;
    b.press("责令限期整改（首违不罚）", None).await;
    assert_eq!(b.path().await, page);
    let token = app.login(&inspector).await;
    let v = app.get(&format!("/api/applications/{id}"), &token).await;
    assert_eq!(v.body["state"], "rectifying", "{:?}", v.body);
    let due = chrono::DateTime::parse_from_rfc3339(v.body["due_at"].as_str().unwrap()).unwrap();
    let due = due.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m-%d %H:%M");
    let due = due.to_string();
    assert!(due.starts_with("2026-03-17"), "15 calendar days from 2 March: {due}");
    b.see("rectification ordered", &["企业限期整改", &format!("办理期限: {due}"), "清理二号车间疏散通道，保持畅通。"])
        .await;
    assert_eq!(state_shown(b).await, "企业限期整改");
    b.shot("21-case-ordered").await;
    b.check_a11y("/applications/<id> (case ordered, inspector)").await;
    b.follow("监管案件").await;
    b.see("case listed", &[&ent_name, "企业限期整改", &due]).await;
    b.check_a11y("/cases").await;
    b.sign_out().await;

    // The enterprise sees the case and its deadline at home, and reports the rectification.
    b.sign_in(&ent).await;
    b.see(
        "enterprise home with the case",
        &["整改事项", "包容审慎监管（首违不罚）", "企业限期整改", &due, "报告整改完成"],
    )
    .await;
    b.shot("22-enterprise-home-case").await;
    b.check_a11y("/ (enterprise, with a case)").await;
    b.open(&id).await;
    b.see("case for the enterprise", &["企业限期整改", "清理二号车间疏散通道，保持畅通。", "整改情况说明"]).await;
    b.press("报告整改完成", None).await;
    b.see("report needs its text", &["请填写整改情况说明"]).await;
    b.fill("a-report_rectification-rectification_report", "纸箱已全部清出，通道已划线，并安排专人每日巡查。").await;
    b.shot("23-enterprise-report").await;
    b.check_a11y("/applications/<id> (case, enterprise)").await;
    b.press("报告整改完成", None).await;
    b.not_see("reported", "请填写整改情况说明").await;
    b.see("reported", &["整改核查", "纸箱已全部清出，通道已划线，并安排专人每日巡查。"]).await;
    assert_eq!(state_shown(b).await, "整改核查");
    b.sign_out().await;

    // The inspector finds it in the inbox, verifies it and records the education given.
    b.sign_in(&inspector).await;
    b.follow("待办").await;
    b.see("inspector's inbox", &["待办事项", &ent_name, "整改核查"]).await;
    b.open(&id).await;
    b.see("verification", &["整改到位，不予处罚", "教育情况记录", "纸箱已全部清出"]).await;
    b.fill("a-confirm_rectified-education_record", "向企业负责人讲解消防安全责任，现场指导通道管理。").await;
    b.fill("c-confirm_rectified", "现场复查，整改到位。").await;
    b.press("整改到位，不予处罚", None).await;
    assert_eq!(state_shown(b).await, "已整改，不予处罚", "closed without penalty");
    b.see("closed", &["现场复查，整改到位。", "向企业负责人讲解消防安全责任，现场指导通道管理。"]).await;
    assert!(!b.exists("section.actions").await, "nothing left to do");
    b.shot("24-case-closed").await;
    b.check_a11y("/applications/<id> (case closed)").await;
    b.sign_out().await;

    // The administrator adds a reviewer; without a jurisdiction the form says so beside the field.
    b.sign_in("admin@test.cn").await;
    b.follow("管理").await;
    assert_eq!(b.path().await, "/admin/users");
    b.see("users", &["用户与角色", "admin@test.cn", &inspector]).await;
    b.check_a11y("/admin/users").await;
    b.follow("新建工作人员账号").await;
    assert_eq!(b.path().await, "/admin/users/new");
    b.fill("f-name", "王芳").await;
    b.fill("f-email", "wang.fang@gov.cn").await;
    b.fill("f-password", PASSWORD).await;
    b.choose("f-role", "审核员").await;
    b.press("创建账号", None).await;
    b.see("user refused", &["请修改以下内容", "该角色需要辖区"]).await;
    assert!(b.exists(".errors a[href='#f-jurisdiction']").await, "the summary links to the field");
    assert!(b.exists(".field.invalid #f-jurisdiction").await, "the field is marked");
    assert_eq!(b.by_id("f-email").await.value().await.unwrap().as_deref(), Some("wang.fang@gov.cn"), "input kept");
    b.shot("25-admin-user-error").await;
    b.check_a11y("/admin/users/new (with an error)").await;
    b.choose("f-jurisdiction", "润州区").await;
    b.fill("f-password", PASSWORD).await;
    b.press("创建账号", None).await;
    assert_eq!(b.path().await, "/admin/users", "created");
    b.see("user listed", &["王芳", "wang.fang@gov.cn", "审核员（润州区）"]).await;
    b.shot("26-admin-users").await;

    // The failed mail (none), the audit check, the enterprise directory and one enterprise.
    b.follow("邮件队列").await;
    assert_eq!(b.path().await, "/admin/mail");
    b.see("mail queue", &["邮件队列", "没有这种状态的邮件。"]).await;
    b.check_a11y("/admin/mail").await;
    b.follow("审计核验").await;
    assert_eq!(b.path().await, "/admin/audit");
    b.see("audit", &["审计核验", "记录完整", "链条完整"]).await;
    b.not_see("audit", "发现异常").await;
    b.shot("27-admin-audit").await;
    b.check_a11y("/admin/audit").await;
    b.follow("企业名录").await;
    assert_eq!(b.path().await, "/enterprises");
    b.see("directory", &["企业名录", &ent_name, &uscc]).await;
    b.check_a11y("/enterprises").await;
    b.follow(&ent_name).await;
    assert_eq!(b.path().await, format!("/enterprises/{ent_id}"));
    b.see("enterprise", &[&ent_name, "申请与案件", "包容审慎监管（首违不罚）", "已整改，不予处罚"]).await;
    b.shot("28-enterprise-detail").await;
    b.check_a11y("/enterprises/<id>").await;
    b.sign_out().await;
}
