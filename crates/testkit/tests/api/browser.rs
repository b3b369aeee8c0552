//! The product as a person uses it: headless Debian Chromium driven through chromedriver
//! (WebDriver), against the real HTTPS server. Chromium trusts exactly the server's self-signed
//! certificate (by its public-key hash), not "any certificate".

use base64::Engine;
use custodian_core::secrets::ExposeSecret;
use custodian_testkit::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, on_both_backends, spawn_app, spawn_unconfigured,
};
use reqwest::StatusCode;
use serde_json::json;
use sha2::Digest;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use thirtyfour::components::SelectElement;
use thirtyfour::prelude::*;

struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    // The child is reaped by `Drop` (kill + wait) on every path; clippy cannot see through it.
    #[allow(clippy::zombie_processes)]
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian package chromium-driver) must be installed; scripts/test installs it");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { child, port };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spki_hash(cert_pem: &[u8]) -> String {
    let der = x509_parser::pem::parse_x509_pem(cert_pem)
        .unwrap()
        .1
        .contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let digest = sha2::Sha256::digest(cert.public_key().raw);
    base64::engine::general_purpose::STANDARD.encode(digest)
}

async fn wait_for(driver: &WebDriver, by: By) -> WebDriverResult<WebElement> {
    driver
        .query(by)
        .wait(Duration::from_secs(10), Duration::from_millis(100))
        .first()
        .await
}

/// Waits until the element found by `by` contains `needle`, re-finding it each time because
/// htmx swaps elements out from under us.
async fn wait_for_text(driver: &WebDriver, by: By, needle: &str) -> bool {
    for _ in 0..100 {
        if let Ok(element) = driver.find(by.clone()).await
            && element.text().await.unwrap_or_default().contains(needle)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Signs in through the login page with the test password and waits for the app.
async fn sign_in(driver: &WebDriver, base_url: &str, email: &str) -> WebDriverResult<()> {
    driver.goto(format!("{base_url}/login")).await?;
    wait_for(driver, By::Name("email"))
        .await?
        .send_keys(email)
        .await?;
    driver
        .find(By::Name("password"))
        .await?
        .send_keys(ADMIN_PASSWORD)
        .await?;
    driver.find(By::Id("login-submit")).await?.click().await?;
    wait_for(driver, By::Id("nav-contacts")).await?;
    Ok(())
}

/// Ends a browser test: on failure a screenshot (its path printed), then the browser closes and
/// the failure, if any, is raised.
async fn finish(driver: WebDriver, result: WebDriverResult<()>, name: &str, backend: Backend) {
    if result.is_err() {
        let shot =
            std::env::temp_dir().join(format!("custodian-browser-{name}-failure-{backend:?}.png"));
        let _ = driver.screenshot(&shot).await;
        eprintln!("screenshot of the failure: {}", shot.display());
    }
    driver.quit().await.unwrap();
    result.unwrap();
}

/// Headless Chromium through a fresh chromedriver, trusting exactly the server's certificate,
/// with a throwaway profile (kept alive by the returned directory).
async fn start_browser(cert_pem: &[u8]) -> (ChromeDriver, WebDriver, tempfile::TempDir) {
    let chromedriver = ChromeDriver::start().await;
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary("/usr/bin/chromium").unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=en-US",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!(
        "--ignore-certificate-errors-spki-list={}",
        spki_hash(cert_pem)
    ))
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display()))
        .unwrap();
    let driver = WebDriver::new(format!("http://127.0.0.1:{}", chromedriver.port), caps)
        .await
        .unwrap();
    (chromedriver, driver, profile)
}

async fn set_up_sign_in_create_find_move_a_deal_and_switch_to_chinese(backend: Backend) {
    let (app, code) = spawn_unconfigured(backend).await;
    let (_chromedriver, driver, profile) = start_browser(&app.cert_pem).await;

    let result = async {
        // 1. First administrator through the printed one-time link (code in the fragment).
        driver
            .goto(format!(
                "{}/setup#code={}",
                app.base_url,
                code.expose_secret()
            ))
            .await?;
        let email = "owner@custodian.test";
        let password = "a passphrase only I know";
        wait_for(&driver, By::Name("email"))
            .await?
            .send_keys(email)
            .await?;
        driver
            .find(By::Name("display_name"))
            .await?
            .send_keys("Owner")
            .await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(password)
            .await?;
        driver
            .find(By::Name("password_confirm"))
            .await?
            .send_keys(password)
            .await?;
        let code_field = driver.find(By::Name("code")).await?;
        assert_eq!(
            code_field.value().await?.as_deref(),
            Some(code.expose_secret()),
            "app.js moved the code from the fragment"
        );
        assert!(
            !driver.current_url().await?.as_str().contains("cus_setup_"),
            "the fragment is cleared"
        );
        driver.find(By::Id("setup-submit")).await?.click().await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;

        // 2. Sign out and sign in again.
        driver
            .find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("login-submit")).await?;
        driver
            .find(By::Name("email"))
            .await?
            .send_keys(email)
            .await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(password)
            .await?;
        driver.find(By::Id("login-submit")).await?.click().await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;

        // 3. Create a contact.
        driver
            .goto(format!("{}/contacts/new", app.base_url))
            .await?;
        wait_for(&driver, By::Name("name"))
            .await?
            .send_keys("李娜 Li Na")
            .await?;
        driver
            .find(By::Name("emails"))
            .await?
            .send_keys("li.na@jade-river.example.cn")
            .await?;
        driver
            .find(By::Name("phones"))
            .await?
            .send_keys("+86 138 0013 8000")
            .await?;
        driver.find(By::Id("contact-submit")).await?.click().await?;
        // Re-found until it matches: the form page has a title too, which goes stale.
        assert!(
            wait_for_text(&driver, By::Id("page-title"), "李娜").await,
            "lands on the new contact"
        );

        // 4. Find it by e-mail (typed differently).
        driver.goto(format!("{}/contacts", app.base_url)).await?;
        wait_for(&driver, By::Id("contact-search"))
            .await?
            .send_keys("LI.NA@jade-river.example.cn")
            .await?;
        driver
            .find(By::Id("contact-search-submit"))
            .await?
            .click()
            .await?;
        let found = wait_for_text(&driver, By::Id("contact-results"), "李娜").await;
        assert!(found, "search by e-mail finds the contact");
        assert!(
            !driver.current_url().await?.as_str().contains("jade-river"),
            "no personal data in the URL"
        );

        // 5. Deals: the first pipeline through its form (offered because none exists), a
        //    deal through its form, then a move on the board without a page reload.
        driver.goto(format!("{}/deals", app.base_url)).await?;
        wait_for(&driver, By::Id("create-pipeline-link"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("f-name"))
            .await?
            .send_keys("Industrial sales")
            .await?;
        for (row, name, probability) in [(0, "Qualification", "10"), (1, "Proposal", "50")] {
            driver
                .find(By::Id(format!("stage_{row}_name")))
                .await?
                .send_keys(name)
                .await?;
            driver
                .find(By::Id(format!("stage_{row}_probability")))
                .await?
                .send_keys(probability)
                .await?;
        }
        driver
            .find(By::Id("pipeline-submit"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("new-pipeline")).await?;

        driver.goto(format!("{}/deals/new", app.base_url)).await?;
        wait_for(&driver, By::Name("title"))
            .await?
            .send_keys("Valve retrofit")
            .await?;
        driver
            .find(By::Name("amount"))
            .await?
            .send_keys("125000.50")
            .await?;
        SelectElement::new(&driver.find(By::Name("currency")).await?)
            .await?
            .select_by_value("CNY")
            .await?;
        driver.find(By::Id("deal-submit")).await?.click().await?;
        assert!(
            wait_for_text(&driver, By::Id("page-title"), "Valve retrofit").await,
            "lands on the new deal"
        );
        let url = driver.current_url().await?;
        let deal_id = url
            .path()
            .trim_start_matches("/deals/")
            .trim_end_matches('/')
            .to_owned();

        driver.goto(format!("{}/deals", app.base_url)).await?;
        let card = wait_for(&driver, By::Id(format!("deal-{deal_id}"))).await?;
        let columns = driver.find_all(By::Css(".board-column")).await?;
        assert_eq!(columns.len(), 2);
        let first_stage = columns[0].attr("data-stage-id").await?.unwrap_or_default();
        let target_stage = columns[1].attr("data-stage-id").await?.unwrap_or_default();
        assert!(
            columns[0].text().await?.contains("Valve retrofit"),
            "starts in the first stage"
        );
        assert!(card.text().await?.contains("CNY 125,000.50"));
        // Marks this page load: a full reload would lose both marks.
        driver
            .execute(
                "window.custodianBeforeMove = 'same page'; \
                 document.body.setAttribute('data-before-move', 'yes'); return true;",
                Vec::<serde_json::Value>::new(),
            )
            .await?;
        SelectElement::new(&driver.find(By::Id(format!("move-{deal_id}"))).await?)
            .await?
            .select_by_value(&target_stage)
            .await?;
        driver
            .find(By::Id(format!("move-submit-{deal_id}")))
            .await?
            .click()
            .await?;
        let moved = wait_for_text(
            &driver,
            By::Css(format!("#stage-{target_stage} .deal-list")),
            "Valve retrofit",
        )
        .await;
        assert!(moved, "the card is in the target column");
        let first_column = driver
            .find(By::Css(format!("#stage-{first_stage} .deal-list")))
            .await?;
        assert!(!first_column.text().await?.contains("Valve retrofit"));
        let marks = driver
            .execute(
                "return [window.custodianBeforeMove || null, \
                 document.body.getAttribute('data-before-move')];",
                Vec::<serde_json::Value>::new(),
            )
            .await?;
        assert_eq!(
            marks.json(),
            &serde_json::json!(["same page", "yes"]),
            "moved without reloading the page"
        );
        // Focus moves to the moved card once htmx has settled the swap.
        let card_link = format!("/deals/{deal_id}");
        let mut focused = false;
        for _ in 0..50 {
            let active = driver.active_element().await?;
            if active.attr("href").await?.as_deref() == Some(card_link.as_str()) {
                focused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(focused, "focus follows the moved card");

        // 5b. Check a CSV with one bad line: the page reads the header in the browser and
        // offers a field per column, and the dry run names the bad line.
        let csv_path = profile.path().join("contacts.csv");
        std::fs::write(
            &csv_path,
            "Name,E-mail,Phone\nGood Person,good@example.com,+8613800000001\nBad Row,not-an-address,\n",
        )
        .unwrap();
        driver.goto(format!("{}/contacts/import", app.base_url)).await?;
        wait_for(&driver, By::Id("import-file"))
            .await?
            .send_keys(csv_path.to_string_lossy())
            .await?;
        let mapping = wait_for(&driver, By::Css("#mapping-table select[data-header='E-mail']")).await;
        assert!(mapping.is_ok(), "the columns are offered for mapping");
        assert!(driver.find(By::Id("import-dry-run")).await?.is_selected().await?);
        driver.find(By::Id("import-submit")).await?.click().await?;
        let reported = wait_for_text(&driver, By::Id("import-errors"), "Enter an e-mail address").await;
        assert!(reported, "the bad line's problem is shown");
        let errors = driver.find(By::Id("import-errors")).await?.text().await?;
        assert!(errors.contains('3') && errors.contains("E-mail"), "{errors}");

        // 6. Switch the interface to Chinese.
        let select = SelectElement::new(&driver.find(By::Id("locale-select")).await?).await?;
        select.select_by_value("zh-CN").await?;
        driver.find(By::Id("locale-submit")).await?.click().await?;
        let chinese = wait_for_text(&driver, By::Id("nav-contacts"), "联系人").await;
        assert!(chinese, "navigation is in Chinese");
        let lang = driver.find(By::Css("html")).await?.attr("lang").await?;
        assert_eq!(lang.as_deref(), Some("zh-CN"));
        WebDriverResult::Ok(())
    }
    .await;
    finish(driver, result, "main", backend).await;
}

/// Adding lines to a draft order in the browser: the "Add a line" button (app.js) appends an
/// empty row without reloading the page, the rows are filled in (a catalogue product with a
/// discount, and a free-text line), and the saved order has them with exact totals.
async fn add_lines_to_an_order(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app.create_contact(json!({"name": "Wang Fang"})).await;
    let mut products = Vec::new();
    for body in [
        json!({"sku": "DSL-10", "name": "Diesel 10 ppm", "list_price": "7000.00",
               "currency": "CNY", "unit": "t"}),
        json!({"sku": "LUB-5W30", "name": "Lubricant 5W-30", "list_price": "25.50",
               "currency": "CNY", "unit": "l"}),
    ] {
        let (status, product) = app.post_json("/api/v1/products", &body).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        products.push(product["id"].as_str().unwrap().to_owned());
    }
    let (status, order) = app
        .post_json(
            "/api/v1/orders",
            &json!({"contact_id": contact["id"], "currency": "CNY", "ordered_on": "2026-03-01",
                    "lines": [{"product_id": products[0], "quantity": "10"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["id"].as_str().unwrap().to_owned();
    let (_chromedriver, driver, _profile) = start_browser(&app.cert_pem).await;

    let result = async {
        sign_in(&driver, &app.base_url, ADMIN_EMAIL).await?;

        driver
            .goto(format!("{}/orders/{order_id}/edit", app.base_url))
            .await?;
        let add_line = driver
            .query(By::Id("add-line"))
            .and_displayed()
            .wait(Duration::from_secs(10), Duration::from_millis(100))
            .first()
            .await?;
        let rows = driver.find_all(By::Css("#order-lines tr.line-row")).await?;
        let before = rows.len();
        assert_eq!(before, 4, "the order's line and three blank rows");
        driver
            .execute(
                "window.custodianBeforeAdd = 'same page'; return true;",
                Vec::<serde_json::Value>::new(),
            )
            .await?;
        // Fill the last blank row first: the copy the button makes must come out empty.
        let last = rows.last().unwrap();
        last.find(By::Css("input[name='line_description']"))
            .await?
            .send_keys("scratch")
            .await?;
        add_line.click().await?;
        add_line.click().await?;
        let rows = driver.find_all(By::Css("#order-lines tr.line-row")).await?;
        assert_eq!(rows.len(), before + 2, "two rows added");
        let mark = driver
            .execute(
                "return window.custodianBeforeAdd || null;",
                Vec::<serde_json::Value>::new(),
            )
            .await?;
        assert_eq!(mark.json(), &json!("same page"), "added without reloading");
        let focused = driver.active_element().await?;
        assert_eq!(
            focused.attr("name").await?.as_deref(),
            Some("line_product"),
            "focus moves into the new row"
        );
        for row in &rows[before..] {
            for input in row.find_all(By::Css("input")).await? {
                assert_eq!(
                    input.value().await?.as_deref(),
                    Some(""),
                    "a new row is empty"
                );
            }
        }
        // Undo the scratch text so that row stays blank.
        last.find(By::Css("input[name='line_description']"))
            .await?
            .clear()
            .await?;

        // First added row: a catalogue product with a discount.
        let product_row = &rows[before];
        SelectElement::new(
            &product_row
                .find(By::Css("select[name='line_product']"))
                .await?,
        )
        .await?
        .select_by_value(&products[1])
        .await?;
        product_row
            .find(By::Css("input[name='line_quantity']"))
            .await?
            .send_keys("4")
            .await?;
        product_row
            .find(By::Css("input[name='line_discount']"))
            .await?
            .send_keys("10")
            .await?;
        // Second added row: a free-text line with its own price.
        let text_row = &rows[before + 1];
        text_row
            .find(By::Css("input[name='line_description']"))
            .await?
            .send_keys("Freight Tianjin → Xi'an")
            .await?;
        text_row
            .find(By::Css("input[name='line_quantity']"))
            .await?
            .send_keys("1")
            .await?;
        text_row
            .find(By::Css("input[name='line_unit_price']"))
            .await?
            .send_keys("150.00")
            .await?;
        driver.find(By::Id("order-submit")).await?.click().await?;

        // 70,000.00 + 4 × 25.50 × 0.9 = 91.80 + 150.00.
        let saved = wait_for_text(&driver, By::Id("order-total"), "CNY 70,241.80").await;
        assert!(saved, "the order page shows the new total");
        let url = driver.current_url().await?;
        assert_eq!(url.path(), format!("/orders/{order_id}"));
        let lines = driver.find(By::Id("order-lines")).await?.text().await?;
        for part in [
            "Diesel 10 ppm",
            "Lubricant 5W-30",
            "Freight Tianjin → Xi'an",
            "LUB-5W30",
        ] {
            assert!(lines.contains(part), "{part} in {lines}");
        }
        WebDriverResult::Ok(())
    }
    .await;
    finish(driver, result, "order", backend).await;

    let (_, order) = app.get_json(&format!("/api/v1/orders/{order_id}")).await;
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3, "{order}");
    assert_eq!(lines[1]["product_id"].as_str(), Some(products[1].as_str()));
    assert_eq!(lines[1]["total"], "91.80");
    assert_eq!(lines[2]["description"], "Freight Tianjin → Xi'an");
    assert_eq!(order["total"], "70241.80");
    assert_eq!(order["version"], 2);
}

/// Set up an authenticator app from the security page (QR code and key rendered by the
/// server), keep the recovery codes, sign out, and sign in with password plus a code.
async fn enrol_an_authenticator_and_sign_in_with_it(backend: Backend) {
    use custodian_domain::Clock;
    let app = spawn_app(backend).await;
    let (_chromedriver, driver, _profile) = start_browser(&app.cert_pem).await;
    let code_now = |key: &str| {
        let secs = u64::try_from(app.clock.now_millis() / 1000).unwrap();
        custodian_crypto::otp::totp_secret_from_base32(key)
            .unwrap()
            .code_at(secs)
            .unwrap()
    };
    let sign_in_with_password = || async {
        driver.goto(format!("{}/login", app.base_url)).await?;
        wait_for(&driver, By::Name("email"))
            .await?
            .send_keys(ADMIN_EMAIL)
            .await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(ADMIN_PASSWORD)
            .await?;
        driver.find(By::Id("login-submit")).await?.click().await?;
        WebDriverResult::Ok(())
    };

    let result = async {
        sign_in_with_password().await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;
        driver.find(By::Id("account-link")).await?.click().await?;
        wait_for(&driver, By::Id("setup-totp"))
            .await?
            .click()
            .await?;
        let qr = wait_for(&driver, By::Css("#totp-qr svg")).await?;
        assert!(qr.is_displayed().await?, "the QR code is visible");
        let key = driver
            .find(By::Id("totp-key"))
            .await?
            .text()
            .await?
            .replace(' ', "");
        driver
            .find(By::Name("code"))
            .await?
            .send_keys(code_now(&key))
            .await?;
        driver.find(By::Id("totp-confirm")).await?.click().await?;
        let codes = wait_for(&driver, By::Id("recovery-codes"))
            .await?
            .text()
            .await?;
        assert_eq!(codes.lines().count(), 10, "{codes}");
        driver.find(By::Id("recovery-done")).await?.click().await?;
        wait_for(&driver, By::Id("totp-status")).await?;

        // Sign out; the password alone now leads to the second step.
        driver
            .find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("login-submit")).await?;
        sign_in_with_password().await?;
        wait_for(&driver, By::Id("verify-submit")).await?;
        assert!(
            driver
                .current_url()
                .await?
                .as_str()
                .ends_with("/login/verify")
        );
        app.clock.advance(time::Duration::seconds(30));
        driver
            .find(By::Name("code"))
            .await?
            .send_keys(code_now(&key))
            .await?;
        driver.find(By::Id("verify-submit")).await?.click().await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;
        WebDriverResult::Ok(())
    }
    .await;
    finish(driver, result, "totp", backend).await;
    let (_, status) = app.get_json("/api/v1/account/second-factors").await;
    assert_eq!(status["totp_enabled"], true);
}

/// Chromium's virtual authenticator (DevTools WebAuthn domain): a platform authenticator that
/// keeps discoverable credentials and verifies the user (as Touch ID or Windows Hello would).
async fn add_virtual_authenticator(driver: &WebDriver) -> WebDriverResult<()> {
    let cdp = driver.cdp();
    cdp.send_raw("WebAuthn.enable", json!({ "enableUI": false }))
        .await?;
    cdp.send_raw(
        "WebAuthn.addVirtualAuthenticator",
        json!({ "options": {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true
        }}),
    )
    .await?;
    Ok(())
}

async fn enrol_a_passkey_and_sign_in_with_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_chromedriver, driver, _profile) = start_browser(&app.cert_pem).await;
    // Passkeys belong to a host name: browse at the public URL (https://localhost:<port>).
    let site = app.base_url.replace("127.0.0.1", "localhost");
    let sign_out = || async {
        driver
            .find(By::Css("form[action='/logout'] button"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("login-submit")).await?;
        WebDriverResult::Ok(())
    };
    let sign_in_with_password = || async {
        driver.goto(format!("{site}/login")).await?;
        wait_for(&driver, By::Name("email"))
            .await?
            .send_keys(ADMIN_EMAIL)
            .await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(ADMIN_PASSWORD)
            .await?;
        driver.find(By::Id("login-submit")).await?.click().await?;
        WebDriverResult::Ok(())
    };

    let result = async {
        add_virtual_authenticator(&driver).await?;
        sign_in_with_password().await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;
        driver.goto(format!("{site}/account/security")).await?;
        let name = wait_for(&driver, By::Id("f-passkey_name")).await?;
        assert!(
            name.is_displayed().await?,
            "the add form shows with WebAuthn"
        );
        name.clear().await?;
        name.send_keys("Virtual key 虚拟").await?;
        driver.find(By::Id("add-passkey")).await?.click().await?;
        // The first second factor: recovery codes, shown once.
        let codes = wait_for(&driver, By::Id("recovery-codes"))
            .await?
            .text()
            .await?;
        assert_eq!(codes.lines().count(), 10, "{codes}");
        driver.find(By::Id("recovery-done")).await?.click().await?;
        let listed = wait_for(&driver, By::Css("#passkey-list input[name='passkey_name']"))
            .await?
            .value()
            .await?;
        assert_eq!(listed.as_deref(), Some("Virtual key 虚拟"));

        // Passwordless: the browser offers the passkey it holds for this site.
        sign_out().await?;
        driver.goto(format!("{site}/login")).await?;
        wait_for(&driver, By::Id("passkey-sign-in"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;

        // With the password, the passkey is the second step (a fresh browser state; the
        // passwordless session stays, to be seen in the list below).
        driver.delete_all_cookies().await?;
        sign_in_with_password().await?;
        wait_for(&driver, By::Id("verify-passkey"))
            .await?
            .click()
            .await?;
        wait_for(&driver, By::Id("nav-contacts")).await?;
        WebDriverResult::Ok(())
    }
    .await;
    finish(driver, result, "passkey", backend).await;
    let (_, sessions) = app.get_json("/api/v1/account/sessions").await;
    let methods: Vec<&str> = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["auth_methods"].as_str().unwrap())
        .collect();
    assert!(methods.contains(&"passkey"), "{methods:?}");
    assert!(methods.contains(&"password+passkey"), "{methods:?}");
}

/// A marketing user sees a contact's preferences but its details only masked; showing them in
/// full asks them to confirm it is them first, and then shows them.
async fn marketing_sees_preferences_and_reveals_masked_details_after_step_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let contact = app
        .create_contact(
            json!({"name": "Chen Jing", "emails": ["chen.jing@sinopec.example.cn"],
                               "phones": ["+8613812345678"], "region": "cn"}),
        )
        .await;
    let id = contact["id"].as_str().unwrap().to_owned();
    let marketing = app
        .sign_in_with_roles("mkt@example.com", &["marketing"], None, Some("cn"))
        .await;
    let (_chromedriver, driver, _profile) = start_browser(&app.cert_pem).await;
    let result = async {
        sign_in(&driver, &app.base_url, "mkt@example.com").await?;
        driver
            .goto(format!("{}/contacts/{id}", app.base_url))
            .await?;
        let emails = wait_for(&driver, By::Id("contact-emails"))
            .await?
            .text()
            .await?;
        assert_eq!(emails, "ch***@s***.cn");
        let phones = driver.find(By::Id("contact-phones")).await?.text().await?;
        assert!(phones.contains("+86 *** **** 5678"), "{phones}");
        let page = driver.source().await?;
        assert!(
            !page.contains("chen.jing@"),
            "no full address anywhere in the page"
        );
        driver.find(By::Id("preferences")).await?;
        assert!(
            driver.find_all(By::Id("purchases")).await?.is_empty(),
            "marketing does not see purchase history"
        );

        // Later: the sign-in is no longer recent, so revealing asks to confirm first.
        app.clock.advance(time::Duration::minutes(11));
        driver.find(By::Id("reveal-details")).await?.click().await?;
        wait_for(&driver, By::Id("reauth-submit")).await?;
        driver
            .find(By::Name("password"))
            .await?
            .send_keys(ADMIN_PASSWORD)
            .await?;
        driver.find(By::Id("reauth-submit")).await?.click().await?;
        wait_for(&driver, By::Id("reveal-details"))
            .await?
            .click()
            .await?;
        assert!(
            wait_for_text(
                &driver,
                By::Id("contact-emails"),
                "chen.jing@sinopec.example.cn"
            )
            .await,
            "revealed in full"
        );
        Ok(())
    }
    .await;
    finish(driver, result, "reveal", backend).await;
    let (_, events) = app
        .get_json(&format!("/api/v1/users/{}/security-events", marketing.id))
        .await;
    let reveals: Vec<&serde_json::Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "data_reveal")
        .collect();
    assert_eq!(reveals.len(), 1, "{events}");
    assert_eq!(
        reveals[0]["detail"],
        format!("contact_details Contact::{id}")
    );
}

async fn an_officer_reads_a_contacts_history_and_handles_a_mass_read_alert(backend: Backend) {
    let mut config = custodian_testkit::test_config();
    config.monitor.rules.mass_read_records = 5;
    let app = custodian_testkit::spawn_app_with(backend, config).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let contact = app
            .create_contact(json!({"name": format!("Zhao Lei {i}")}))
            .await;
        ids.push(contact["id"].as_str().unwrap().to_owned());
    }
    // Someone reads one contact, then lists all six: a mass read.
    let reader = app.sign_in_new_user("reader@example.com").await;
    let (status, _) = reader
        .get_json(&format!("/api/v1/contacts/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = reader.get_json("/api/v1/contacts?limit=50").await;
    assert_eq!(status, StatusCode::OK);
    app.sign_in_with_roles("officer@example.com", &["security_officer"], None, None)
        .await;
    let (_chromedriver, driver, _profile) = start_browser(&app.cert_pem).await;
    let result = async {
        sign_in(&driver, &app.base_url, "officer@example.com").await?;
        // The audit log, filtered by the contact: who created it and who read it.
        driver.find(By::Id("nav-audit")).await?.click().await?;
        wait_for(&driver, By::Id("audit-target"))
            .await?
            .send_keys(&ids[0])
            .await?;
        driver.find(By::Id("audit-apply")).await?.click().await?;
        assert!(
            wait_for_text(&driver, By::Id("audit-table"), "data_read").await,
            "the contact's history shows its read"
        );
        let history = driver.find(By::Id("audit-table")).await?.text().await?;
        assert!(history.contains("data_create"), "{history}");
        assert!(history.contains(&reader.id), "{history}");
        assert!(
            !history.contains("Zhao Lei"),
            "no personal value in the log"
        );
        // The mass read is on the security dashboard.
        driver.find(By::Id("nav-security")).await?.click().await?;
        let mut found = false;
        for _ in 0..50 {
            if driver
                .source()
                .await?
                .contains("Mass reading of personal data")
            {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            driver.refresh().await?;
        }
        assert!(found, "the mass-read alert is on the dashboard");
        let row = driver
            .find(By::Css("tr.alert-row[data-rule=\"mass_read\"] a"))
            .await?;
        row.click().await?;
        let facts = wait_for(&driver, By::Id("alert-facts"))
            .await?
            .text()
            .await?;
        assert!(facts.contains("reader@example.com"), "{facts}");
        SelectElement::new(&driver.find(By::Id("change-status")).await?)
            .await?
            .select_by_value("acknowledged")
            .await?;
        SelectElement::new(&driver.find(By::Id("change-owner")).await?)
            .await?
            .select_by_value("me")
            .await?;
        driver
            .find(By::Id("change-note"))
            .await?
            .send_keys("Asked the reader's manager.")
            .await?;
        driver.find(By::Id("alert-save")).await?.click().await?;
        wait_for(&driver, By::Id("alert-notice")).await?;
        let status = driver
            .find(By::Id("alert-status-value"))
            .await?
            .text()
            .await?;
        assert_eq!(status, "Acknowledged");
        let notes = driver.find(By::Id("alert-notes")).await?.text().await?;
        assert!(notes.contains("Asked the reader's manager."), "{notes}");
        Ok(())
    }
    .await;
    finish(driver, result, "security", backend).await;
}

on_both_backends!(
    marketing_sees_preferences_and_reveals_masked_details_after_step_up,
    an_officer_reads_a_contacts_history_and_handles_a_mass_read_alert,
    set_up_sign_in_create_find_move_a_deal_and_switch_to_chinese,
    add_lines_to_an_order,
    enrol_an_authenticator_and_sign_in_with_it,
    enrol_a_passkey_and_sign_in_with_it,
);
