//! `custodian demo seed`: a realistic, reproducible data set — English and Chinese names,
//! companies in oil & gas, food and manufacturing — for trying the product and for benchmarks.
//! Everything goes through the same use cases as the API, so it is encrypted and indexed.

use anyhow::{Context, bail};
use custodian_core::Core;
use custodian_core::activities::ActivityInput;
use custodian_core::companies::CompanyInput;
use custodian_core::complaints::{ComplaintInput, ComplaintTransition};
use custodian_core::contacts::ContactInput;
use custodian_core::deals::{CloseDeal, DealInput, MoveDeal, PipelineInput, StageInput};
use custodian_core::leads::{LeadInput, QualifyLead};
use custodian_core::orders::{LineInput, OrderInput, TransitionOrder};
use custodian_core::preferences::PreferencesInput;
use custodian_core::products::{InterestInput, ProductInput};
use custodian_core::surveys::SurveyInput;
use custodian_core::tasks::{TaskAction, TaskInput};

/// Most contacts one seed run creates.
pub const MAX_CONTACTS: usize = 2_000_000;
const BATCH: usize = 500;
/// One demo deal per this many contacts, up to [`MAX_DEALS`].
const CONTACTS_PER_DEAL: usize = 10;
const MAX_DEALS: usize = 100_000;
/// One demo lead per this many contacts, up to [`MAX_LEADS`].
const CONTACTS_PER_LEAD: usize = 20;
const MAX_LEADS: usize = 2_000;
/// Most demo tasks (one per demo deal, up to this many).
const MAX_TASKS: usize = 3_000;
/// Activities logged on each of the first deals' contacts (their timelines).
const ACTIVITIES_PER_DEAL_CONTACT: usize = 4;
const MAX_ACTIVITY_CONTACTS: usize = 25_000;
const ACTIVITY_SUBJECTS: &[(&str, &str)] = &[
    ("call", "Follow-up call on the quotation / 报价跟进电话"),
    (
        "meeting",
        "Site visit and technical review / 现场拜访与技术评审",
    ),
    ("email", "Sent revised price list / 已发送新版价格表"),
    (
        "note",
        "Prefers delivery before Chinese New Year / 希望春节前交货",
    ),
    ("call", "Discussed payment terms / 讨论付款条件"),
    ("meeting", "Annual supply review / 年度供货回顾"),
];
const TASK_SUBJECTS: &[&str] = &[
    "Call back about the quote",
    "致电确认报价",
    "Send the revised proposal",
    "发送修订后的方案",
    "Arrange a site visit",
    "安排现场考察",
    "Follow up on the sample delivery",
    "跟进样品交付",
    "Prepare the contract draft",
    "准备合同草稿",
];
const TASK_PRIORITIES: &[&str] = &["low", "normal", "normal", "high", "urgent"];
const LEAD_SOURCES: &[&str] = &[
    "web",
    "referral",
    "trade_show",
    "cold_call",
    "partner",
    "event",
];

const DEAL_SUBJECTS: &[&str] = &[
    "Valve retrofit",
    "Compressor overhaul",
    "冷链仓储扩建",
    "Pipeline inspection contract",
    "Packaging line upgrade",
    "储罐防腐工程",
    "Annual lubricant supply",
    "Boiler replacement",
];
const CURRENCY_AMOUNTS: &[(&str, &str)] = &[
    ("CNY", "1280000.00"),
    ("CNY", "356000.50"),
    ("USD", "98000.00"),
    ("CNY", "45200.00"),
    ("EUR", "210000.00"),
];

const EN_FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amelia",
    "Oliver",
    "Sophia",
    "Lucas",
];
const EN_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Young",
    "Allen",
];
const ZH_SURNAME: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
];
const ZH_GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("秀英", "xiuying"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("小明", "xiaoming"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("海燕", "haiyan"),
];
const TITLES: &[&str] = &[
    "Procurement Manager",
    "采购经理",
    "Plant Manager",
    "厂长",
    "HSE Director",
    "安全环保总监",
    "Supply Chain Lead",
    "供应链主管",
    "Chief Engineer",
    "总工程师",
    "Quality Manager",
    "质量经理",
    "Operations Director",
    "运营总监",
    "Buyer",
    "采购专员",
];
const COMPANY_STEMS: &[(&str, &str, &str)] = &[
    ("Sino Petro", "oil_gas", "cn-north"),
    ("East Sea Drilling", "oil_gas", "cn-east"),
    ("Gulf Coast Energy", "oil_gas", "na"),
    ("North Sea Offshore", "oil_gas", "emea"),
    ("Tarim Pipeline", "oil_gas", "cn-west"),
    ("Golden Harvest Foods", "food", "cn-south"),
    ("Jade River Dairy", "food", "cn-north"),
    ("Pacific Seafood", "food", "apac"),
    ("Alpine Bakeries", "food", "emea"),
    ("Sichuan Spice Works", "food", "cn-west"),
    ("Yangtze Precision", "manufacturing", "cn-east"),
    ("Pearl Delta Plastics", "manufacturing", "cn-south"),
    ("Rhine Machine Tools", "manufacturing", "emea"),
    ("Great Lakes Castings", "manufacturing", "na"),
    ("Shenzhen Circuits", "manufacturing", "cn-south"),
    ("Bohai Chemicals", "chemicals", "cn-north"),
];
const SIZES: &[&str] = &["11-50", "51-200", "201-1000", "1001-5000", "5000+"];
const STREETS: &[&str] = &[
    "88 Century Avenue, Pudong, Shanghai 200120",
    "1 Jianguomenwai Street, Beijing 100004",
    "200 Shennan Road, Futian, Shenzhen 518000",
    "12 Harbour Road, Wan Chai, Hong Kong",
    "500 Main Street, Houston, TX 77002",
    "10 Canary Wharf, London E14 5AB",
];

/// Every how many deal contacts one gets purchase history.
const DEAL_CONTACTS_PER_BUYER: usize = 2;
const MAX_ORDERS: usize = 2_000;

/// The demo catalogue: (SKU, name, category, list price, currency, unit, active).
const PRODUCTS: &[(&str, &str, &str, &str, &str, &str, bool)] = &[
    (
        "CRUDE-BRENT",
        "Brent crude oil 布伦特原油",
        "Crude 原油",
        "82.35",
        "USD",
        "bbl",
        true,
    ),
    (
        "CRUDE-ESPO",
        "ESPO blend crude 东西伯利亚原油",
        "Crude 原油",
        "78.10",
        "USD",
        "bbl",
        true,
    ),
    (
        "DSL-10PPM",
        "Diesel 10 ppm (China VI) 国VI柴油",
        "Fuels 燃料",
        "7450.00",
        "CNY",
        "t",
        true,
    ),
    (
        "JET-A1",
        "Jet A-1 航空煤油",
        "Fuels 燃料",
        "812.40",
        "USD",
        "t",
        true,
    ),
    (
        "LUB-15W40",
        "Engine oil 15W-40 柴油机油",
        "Lubricants 润滑油",
        "4.10",
        "EUR",
        "l",
        true,
    ),
    (
        "LUB-HYD46",
        "Hydraulic oil ISO VG 46 液压油",
        "Lubricants 润滑油",
        "18.60",
        "CNY",
        "l",
        true,
    ),
    (
        "FLOUR-T55",
        "Wheat flour T55 小麦粉",
        "Food ingredients 食品原料",
        "3.20",
        "CNY",
        "kg",
        true,
    ),
    (
        "SOY-LEC",
        "Soy lecithin 大豆卵磷脂",
        "Food ingredients 食品原料",
        "2150.00",
        "EUR",
        "t",
        true,
    ),
    (
        "PALM-OLEIN",
        "Palm olein CP10 棕榈液油",
        "Food ingredients 食品原料",
        "980.00",
        "USD",
        "t",
        true,
    ),
    (
        "VALVE-DN50",
        "Ball valve DN50 PN40 球阀",
        "Machine parts 机械零件",
        "128.00",
        "EUR",
        "each",
        true,
    ),
    (
        "BRG-6205",
        "Deep-groove bearing 6205-2RS 深沟球轴承",
        "Machine parts 机械零件",
        "16.80",
        "CNY",
        "each",
        true,
    ),
    (
        "SEAL-KIT-P3",
        "Pump seal kit P3 泵密封套件",
        "Machine parts 机械零件",
        "245.00",
        "USD",
        "set",
        true,
    ),
    (
        "GEARBOX-R7",
        "Gearbox R7 (discontinued) 减速机 R7（停产）",
        "Machine parts 机械零件",
        "3900.00",
        "EUR",
        "each",
        false,
    ),
];

/// Order statuses to walk demo orders through (the last entry is where each one stops).
const ORDER_PATHS: &[&[&str]] = &[
    &[],
    &["placed"],
    &["placed", "paid"],
    &["placed", "paid", "fulfilled"],
    &["placed", "paid", "fulfilled"],
    &["placed", "cancelled"],
    &["placed", "paid", "refunded"],
];

/// Most demo contacts given preferences, survey answers and complaints.
const MAX_FEEDBACK_CONTACTS: usize = 3_000;
/// (channel, language, frequency) combinations for demo preferences.
const PREFERENCE_SETS: &[(&str, &str, &str)] = &[
    ("wechat", "zh-CN", "monthly"),
    ("email", "en", "monthly"),
    ("phone", "zh-CN", "quarterly"),
    ("email", "zh-CN", "weekly"),
    ("sms", "zh-CN", "only_essential"),
    ("post", "de", "quarterly"),
    ("email", "en", "only_essential"),
];
const DNC_REASONS: &[&str] = &[
    "Asked by phone not to be contacted again",
    "客户来电要求不再联系",
    "Left the company; requested removal from all mailings",
    "要求仅通过书面信函联系，拒绝电话营销",
];
const SURVEY_COMMENTS: &[&str] = &[
    "Delivery was on time and the paperwork complete.",
    "交货准时，单据齐全。",
    "The sales engineer answered every question quickly.",
    "技术支持响应很快，非常专业。",
    "Prices went up without notice.",
    "价格调整没有提前通知。",
];
/// (subject, description, category, severity) of demo complaints.
const COMPLAINTS: &[(&str, &str, &str, &str)] = &[
    (
        "Drums of lubricant arrived leaking",
        "Three of twenty drums were dented and leaking at the bung.",
        "product_quality",
        "high",
    ),
    (
        "柴油交货延迟两天",
        "原定周一到货，实际周三才到，导致发电机停机。",
        "delivery",
        "critical",
    ),
    (
        "Invoice shows the wrong discount",
        "The agreed 5 % volume discount is missing on the last invoice.",
        "billing",
        "medium",
    ),
    (
        "客服电话无人接听",
        "连续两天拨打服务热线均无人接听。",
        "service",
        "low",
    ),
];
/// Status paths for demo complaints (the last entry is where each one stops).
const COMPLAINT_PATHS: &[&[&str]] = &[
    &[],
    &["investigating"],
    &["investigating", "resolved"],
    &["investigating", "resolved", "closed"],
    &["rejected"],
];

/// A small deterministic generator: demo data must be reproducible, not secret.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let len = u64::try_from(items.len()).unwrap_or(1).max(1);
        let i = usize::try_from(self.next() % len).unwrap_or(0);
        &items[i.min(items.len().saturating_sub(1))]
    }
}

pub fn contact_input(n: usize, rng_seed: u64, company_id: Option<uuid::Uuid>) -> ContactInput {
    let mut rng = Lcg(rng_seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let chinese = rng.next().is_multiple_of(2);
    let (name, email_local) = if chinese {
        let (s, sp) = rng.pick(ZH_SURNAME);
        let (g, gp) = rng.pick(ZH_GIVEN);
        (format!("{s}{g}"), format!("{gp}.{sp}"))
    } else {
        let first = rng.pick(EN_FIRST);
        let last = rng.pick(EN_LAST);
        (
            format!("{first} {last}"),
            format!("{}.{}", first.to_lowercase(), last.to_lowercase()),
        )
    };
    let domain = if chinese { "example.cn" } else { "example.com" };
    let phone = if chinese {
        format!(
            "+86 13{} {:04} {:04}",
            rng.next() % 10,
            rng.next() % 10_000,
            n % 10_000
        )
    } else {
        format!("+1 713 {:03} {:04}", rng.next() % 1_000, n % 10_000)
    };
    ContactInput {
        name,
        emails: vec![format!("{email_local}.{n}@{domain}")],
        phones: vec![phone],
        job_title: Some((*rng.pick(TITLES)).to_owned()),
        company_id,
        address: Some((*rng.pick(STREETS)).to_owned()),
        notes: rng
            .next()
            .is_multiple_of(4)
            .then(|| "Prefers WeChat; quarterly review in March.".to_owned()),
        owner_id: None,
        team: Some(
            if chinese {
                "china-sales"
            } else {
                "global-sales"
            }
            .to_owned(),
        ),
        region: Some(if chinese { "cn" } else { "us" }.to_owned()),
        sensitivity: None,
        tags: if rng.next().is_multiple_of(5) {
            vec!["vip".to_owned()]
        } else {
            Vec::new()
        },
        custom_fields: Default::default(),
    }
}

pub async fn seed(core: &Core, contacts: usize) -> anyhow::Result<String> {
    if contacts > MAX_CONTACTS {
        bail!("--contacts must be at most {MAX_CONTACTS}");
    }
    let actor = core.cli_actor().await?;
    let mut company_ids = Vec::new();
    let mut rng = Lcg(0x00C0_FFEE);
    for (i, (stem, industry, region)) in COMPANY_STEMS.iter().enumerate() {
        let view = core
            .create_company(
                &actor,
                CompanyInput {
                    name: format!("{stem} Co., Ltd."),
                    industry: Some((*industry).to_owned()),
                    size: Some((*rng.pick(SIZES)).to_owned()),
                    region: Some((*region).to_owned()),
                    address: Some((*rng.pick(STREETS)).to_owned()),
                    website: Some(format!(
                        "https://www.{}.example",
                        stem.to_lowercase().replace(' ', "-")
                    )),
                    owner_id: None,
                    tags: if i.is_multiple_of(3) {
                        vec!["key-account".to_owned()]
                    } else {
                        Vec::new()
                    },
                    custom_fields: Default::default(),
                },
            )
            .await
            .context("cannot create demo companies")?;
        company_ids.push(view.id.as_uuid());
    }
    let mut created = 0;
    let mut deal_contacts = Vec::new();
    while created < contacts {
        let batch: Vec<ContactInput> = (created..contacts.min(created + BATCH))
            .map(|n| {
                let company = company_ids.get(n % company_ids.len().max(1)).copied();
                contact_input(n, 0x5EED, company)
            })
            .collect();
        let ids = core
            .create_contacts(&actor, &batch)
            .await
            .context("cannot create demo contacts")?;
        for (offset, id) in ids.iter().enumerate() {
            let n = created + offset;
            if n.is_multiple_of(CONTACTS_PER_DEAL) && deal_contacts.len() < MAX_DEALS {
                deal_contacts.push((
                    id.as_uuid(),
                    company_ids.get(n % company_ids.len().max(1)).copied(),
                ));
            }
        }
        created += batch.len();
    }
    let deal_ids = seed_deals(core, &actor, &deal_contacts).await?;
    let leads = seed_leads(core, &actor, (contacts / CONTACTS_PER_LEAD).min(MAX_LEADS)).await?;
    let tasks = seed_tasks(core, &actor, &deal_ids).await?;
    let activities = seed_activities(core, &actor, &deal_contacts).await?;
    let (products, orders) = seed_purchases(core, &actor, &deal_contacts).await?;
    let (surveys, complaints) = seed_feedback(core, &actor, &deal_contacts).await?;
    Ok(format!(
        "created {} demo companies, {created} contacts, {} deals, {leads} leads, {tasks} tasks, {activities} activities, {products} products, {orders} orders, {surveys} survey responses and {complaints} complaints",
        company_ids.len(),
        deal_ids.len()
    ))
}

/// Prospects from several sources, some of them qualified.
async fn seed_leads(
    core: &Core,
    actor: &custodian_core::Actor,
    count: usize,
) -> anyhow::Result<usize> {
    let mut rng = Lcg(0x1EAD);
    for n in 0..count {
        let person = contact_input(1_000_000 + n, 0x1EAD, None);
        let lead = core
            .create_lead(
                actor,
                LeadInput {
                    name: person.name,
                    email: person.emails.into_iter().next(),
                    phone: person.phones.into_iter().next(),
                    job_title: person.job_title,
                    company_name: Some(format!("{} Co., Ltd.", rng.pick(COMPANY_STEMS).0)),
                    notes: None,
                    source: Some((*rng.pick(LEAD_SOURCES)).to_owned()),
                    score: Some(i64::try_from(rng.next() % 101).unwrap_or(0)),
                    owner_id: None,
                },
            )
            .await
            .context("cannot create demo leads")?;
        if rng.next().is_multiple_of(3) {
            core.qualify_lead(
                actor,
                lead.id,
                QualifyLead {
                    version: lead.version,
                },
            )
            .await
            .context("cannot qualify demo leads")?;
        }
    }
    Ok(count)
}

/// Tasks on the demo deals (so also on their contacts and companies), in both languages:
/// spread from two weeks ago to a month ahead, so some are overdue; some done already; some
/// with a reminder.
/// A few calls, meetings, e-mails and notes on the deal contacts, spread over the last months,
/// so their timelines (and their companies') have history.
async fn seed_activities(
    core: &Core,
    actor: &custodian_core::Actor,
    deal_contacts: &[(uuid::Uuid, Option<uuid::Uuid>)],
) -> anyhow::Result<usize> {
    let now = core.clock().now();
    let mut rng = Lcg(0xAC71);
    let mut logged = 0;
    for (contact, _) in deal_contacts.iter().take(MAX_ACTIVITY_CONTACTS) {
        for _ in 0..ACTIVITIES_PER_DEAL_CONTACT {
            let (kind, subject) = *rng.pick(ACTIVITY_SUBJECTS);
            let hours_ago = i64::try_from(rng.next() % (24 * 120)).unwrap_or(0);
            let at = (now - time::Duration::hours(hours_ago))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let (subject, body) = if kind == "note" {
                (None, Some(subject.to_owned()))
            } else {
                (Some(subject.to_owned()), None)
            };
            core.create_activity(
                actor,
                ActivityInput {
                    kind: kind.to_owned(),
                    subject,
                    body,
                    direction: matches!(kind, "call" | "email").then(|| "outbound".to_owned()),
                    outcome: (kind == "call").then(|| "connected".to_owned()),
                    duration_minutes: matches!(kind, "call" | "meeting")
                        .then(|| i64::try_from(rng.next() % 60 + 5).unwrap_or(15)),
                    occurred_at: Some(at),
                    owner_id: None,
                    contact_id: Some(*contact),
                    company_id: None,
                    deal_id: None,
                    // Demo preferences (some do-not-contact) are seeded after this history.
                    override_do_not_contact: false,
                },
            )
            .await
            .context("cannot create demo activities")?;
            logged += 1;
        }
    }
    Ok(logged)
}

async fn seed_tasks(
    core: &Core,
    actor: &custodian_core::Actor,
    deals: &[uuid::Uuid],
) -> anyhow::Result<usize> {
    let now = core.clock().now();
    let mut rng = Lcg(0x7A5C);
    let count = deals.len().min(MAX_TASKS);
    for (n, deal) in deals.iter().take(count).enumerate() {
        let days = i64::try_from(rng.next() % 45).unwrap_or(0) - 14;
        let due = now + time::Duration::days(days);
        let due_text = format!(
            "{:04}-{:02}-{:02}",
            due.year(),
            u8::from(due.month()),
            due.day()
        );
        let remind = (days > 1 && rng.next().is_multiple_of(2)).then(|| {
            (due - time::Duration::days(1))
                .replace_time(time::macros::time!(09:00))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        });
        let task = core
            .create_task(
                actor,
                TaskInput {
                    title: format!("{} #{}", rng.pick(TASK_SUBJECTS), n + 1),
                    due_at: Some(due_text),
                    remind_at: remind,
                    priority: Some((*rng.pick(TASK_PRIORITIES)).to_owned()),
                    deal_id: Some(*deal),
                    ..TaskInput::default()
                },
            )
            .await
            .context("cannot create demo tasks")?;
        if days < 0 && rng.next().is_multiple_of(2) {
            core.complete_task(
                actor,
                task.id,
                TaskAction {
                    version: task.version,
                },
            )
            .await
            .context("cannot complete demo tasks")?;
        }
    }
    Ok(count)
}

/// A pipeline in both languages' terms, and deals spread over its stages: some moved on, some
/// won or lost, so boards, histories and totals have something to show.
async fn seed_deals(
    core: &Core,
    actor: &custodian_core::Actor,
    contacts: &[(uuid::Uuid, Option<uuid::Uuid>)],
) -> anyhow::Result<Vec<uuid::Uuid>> {
    let stage = |name: &str, probability| StageInput {
        id: None,
        name: name.to_owned(),
        probability,
    };
    let pipeline = core
        .create_pipeline(
            actor,
            PipelineInput {
                name: "Industrial sales 工业销售".to_owned(),
                stages: vec![
                    stage("Qualification 资格审查", 10),
                    stage("Needs analysis 需求分析", 25),
                    stage("Proposal 方案报价", 50),
                    stage("Negotiation 商务谈判", 75),
                ],
            },
        )
        .await
        .context("cannot create the demo pipeline")?;
    let mut rng = Lcg(0xDEA1);
    let mut ids = Vec::with_capacity(contacts.len());
    for (n, (contact, company)) in contacts.iter().enumerate() {
        let (currency, amount) = rng.pick(CURRENCY_AMOUNTS);
        let deal = core
            .create_deal(
                actor,
                DealInput {
                    title: format!("{} #{}", rng.pick(DEAL_SUBJECTS), n + 1),
                    pipeline_id: Some(pipeline.id.as_uuid()),
                    amount: Some((*amount).to_owned()),
                    currency: Some((*currency).to_owned()),
                    expected_close_on: Some(format!("2027-{:02}-{:02}", 1 + n % 12, 1 + n % 28)),
                    company_id: *company,
                    contact_id: Some(*contact),
                    ..DealInput::default()
                },
            )
            .await
            .context("cannot create demo deals")?;
        ids.push(deal.id.as_uuid());
        let target = usize::try_from(rng.next() % 5).unwrap_or(0);
        let mut version = deal.version;
        if let Some(stage) = pipeline.stages.get(target).filter(|_| target > 0) {
            version = core
                .move_deal(
                    actor,
                    deal.id,
                    MoveDeal {
                        version,
                        stage_id: stage.id.as_uuid(),
                    },
                )
                .await
                .context("cannot move demo deals")?
                .version;
        }
        if target == 4 {
            core.close_deal(
                actor,
                deal.id,
                CloseDeal {
                    version,
                    outcome: if rng.next().is_multiple_of(3) {
                        "lost"
                    } else {
                        "won"
                    }
                    .to_owned(),
                    reason: None,
                },
            )
            .await
            .context("cannot close demo deals")?;
        }
    }
    Ok(ids)
}

/// A bilingual catalogue in CNY, USD and EUR, and orders with mixed statuses for a share of the
/// deal contacts (some through their company only), plus product interests.
async fn seed_purchases(
    core: &Core,
    actor: &custodian_core::Actor,
    contacts: &[(uuid::Uuid, Option<uuid::Uuid>)],
) -> anyhow::Result<(usize, usize)> {
    let mut catalogue = Vec::new();
    for (sku, name, category, price, currency, unit, active) in PRODUCTS {
        let view = core
            .create_product(
                actor,
                ProductInput {
                    sku: (*sku).to_owned(),
                    name: (*name).to_owned(),
                    description: None,
                    category: Some((*category).to_owned()),
                    list_price: (*price).to_owned(),
                    currency: (*currency).to_owned(),
                    unit: (*unit).to_owned(),
                    active: Some(*active),
                },
            )
            .await
            .context("cannot create demo products")?;
        catalogue.push(view);
    }
    let active: Vec<_> = catalogue.iter().filter(|p| p.active).collect();
    let mut rng = Lcg(0x0DE5);
    let mut orders = 0;
    for (n, (contact, company)) in contacts
        .iter()
        .enumerate()
        .filter(|(n, _)| n.is_multiple_of(DEAL_CONTACTS_PER_BUYER))
        .take(MAX_ORDERS)
    {
        let first = *rng.pick(&active);
        let currency = first.currency.clone();
        let same: Vec<_> = active.iter().filter(|p| p.currency == currency).collect();
        let line_count = 1 + usize::try_from(rng.next() % 3).unwrap_or(0);
        let lines = (0..line_count)
            .map(|_| {
                let p = rng.pick(&same);
                LineInput {
                    product_id: Some(p.id.as_uuid()),
                    quantity: format!("{}.{}", 1 + rng.next() % 500, rng.next() % 10),
                    discount: (rng.next().is_multiple_of(3)).then(|| "5".to_owned()),
                    ..LineInput::default()
                }
            })
            .collect();
        let company_only = n.is_multiple_of(5) && company.is_some();
        let order = core
            .create_order(
                actor,
                OrderInput {
                    contact_id: (!company_only).then_some(*contact),
                    company_id: *company,
                    currency,
                    ordered_on: Some(format!("2025-{:02}-{:02}", 1 + n % 12, 1 + n % 28)),
                    lines,
                    ..OrderInput::default()
                },
            )
            .await
            .context("cannot create demo orders")?;
        let mut version = order.version;
        for status in *rng.pick(ORDER_PATHS) {
            version = core
                .transition_order(
                    actor,
                    order.id,
                    TransitionOrder {
                        version,
                        status: (*status).to_owned(),
                    },
                )
                .await
                .context("cannot move demo orders")?
                .version;
        }
        if !company_only {
            core.set_product_interest(
                actor,
                custodian_domain::ContactId(*contact),
                InterestInput {
                    product_id: rng.pick(&active).id.as_uuid(),
                    level: (*rng.pick(&["low", "medium", "high"])).to_owned(),
                },
            )
            .await
            .context("cannot record demo product interests")?;
        }
        orders += 1;
    }
    Ok((catalogue.len(), orders))
}

/// Preferences (about one in six do-not-contact), NPS and CSAT answers over the last months
/// and complaints in mixed states for the deal contacts, in both languages.
async fn seed_feedback(
    core: &Core,
    actor: &custodian_core::Actor,
    contacts: &[(uuid::Uuid, Option<uuid::Uuid>)],
) -> anyhow::Result<(usize, usize)> {
    let now = core.clock().now();
    let mut rng = Lcg(0xFEED);
    let (mut surveys, mut complaints) = (0, 0);
    for (n, (contact, _)) in contacts.iter().take(MAX_FEEDBACK_CONTACTS).enumerate() {
        let contact_id = custodian_domain::ContactId(*contact);
        let (channel, language, frequency) = *rng.pick(PREFERENCE_SETS);
        let dnc = n % 6 == 5;
        core.set_preferences(
            actor,
            contact_id,
            PreferencesInput {
                version: 0,
                channel: Some(channel.to_owned()),
                language: Some(language.to_owned()),
                frequency: Some(frequency.to_owned()),
                opt_outs: if rng.next().is_multiple_of(4) {
                    vec!["sms".to_owned()]
                } else {
                    Vec::new()
                },
                do_not_contact: dnc,
                do_not_contact_since: None,
                do_not_contact_reason: dnc.then(|| (*rng.pick(DNC_REASONS)).to_owned()),
            },
        )
        .await
        .context("cannot record demo preferences")?;
        for _ in 0..1 + rng.next() % 2 {
            let nps = rng.next().is_multiple_of(2);
            let days = i64::try_from(rng.next() % 180).unwrap_or(0);
            let at = (now - time::Duration::days(days))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            core.create_survey(
                actor,
                SurveyInput {
                    contact_id: *contact,
                    kind: if nps { "nps" } else { "csat" }.to_owned(),
                    // Skewed towards satisfied customers, as real answers are.
                    score: if nps {
                        *rng.pick(&[10, 9, 9, 8, 7, 6, 10, 3, 9, 8])
                    } else {
                        *rng.pick(&[5, 4, 4, 5, 3, 2, 4])
                    },
                    comment: rng
                        .next()
                        .is_multiple_of(3)
                        .then(|| (*rng.pick(SURVEY_COMMENTS)).to_owned()),
                    channel: Some(channel.to_owned()),
                    responded_at: Some(at),
                    deal_id: None,
                    order_id: None,
                },
            )
            .await
            .context("cannot record demo survey responses")?;
            surveys += 1;
        }
        if n.is_multiple_of(4) {
            let (subject, description, category, severity) = *rng.pick(COMPLAINTS);
            let complaint = core
                .create_complaint(
                    actor,
                    ComplaintInput {
                        contact_id: *contact,
                        subject: subject.to_owned(),
                        description: description.to_owned(),
                        category: category.to_owned(),
                        severity: severity.to_owned(),
                        assignee_id: Some(actor.user_id.as_uuid()),
                        ..ComplaintInput::default()
                    },
                )
                .await
                .context("cannot create demo complaints")?;
            let mut version = complaint.version;
            for status in *rng.pick(COMPLAINT_PATHS) {
                version = core
                    .transition_complaint(
                        actor,
                        complaint.id,
                        ComplaintTransition {
                            version,
                            status: (*status).to_owned(),
                            resolution: (*status == "resolved").then(|| {
                                "Replaced the goods and credited the freight. 已换货并退还运费。"
                                    .to_owned()
                            }),
                        },
                    )
                    .await
                    .context("cannot move demo complaints")?
                    .version;
            }
            complaints += 1;
        }
    }
    Ok((surveys, complaints))
}
