//! The text of what Custodian sends people, in English and Simplified Chinese. Every message
//! says what to do if it was not expected, and none carries personal data beyond what the
//! recipient already knows (their own code or link).

use crate::outbound::{OutgoingMail, OutgoingSms};
use crate::sent_codes::CodePurpose;

fn purpose_text(purpose: CodePurpose, zh: bool) -> &'static str {
    match (purpose, zh) {
        (CodePurpose::SignIn, false) => "to finish signing in",
        (CodePurpose::SignIn, true) => "用于完成登录",
        (CodePurpose::StepUp, false) => "to confirm it is you",
        (CodePurpose::StepUp, true) => "用于确认您的身份",
        (CodePurpose::VerifyEmail, false) => "to confirm your e-mail address",
        (CodePurpose::VerifyEmail, true) => "用于验证您的电子邮件地址",
        (CodePurpose::VerifyPhone, false) => "to confirm your phone number",
        (CodePurpose::VerifyPhone, true) => "用于验证您的手机号码",
    }
}

pub(crate) fn code_mail(to: String, code: &str, purpose: CodePurpose, zh: bool) -> OutgoingMail {
    let minutes = crate::sent_codes::CODE_TTL_MS / 60_000;
    let what = purpose_text(purpose, zh);
    if zh {
        OutgoingMail {
            to,
            subject: "Custodian 验证码".to_owned(),
            body: format!(
                "您的验证码是 {code}，{what}。\n\n验证码 {minutes} 分钟内有效，只能使用一次。请勿告诉任何人，Custodian 工作人员不会向您索取验证码。\n\n如果这不是您本人的操作，可能有人知道了您的密码：请立即修改密码并告知管理员。\n"
            ),
        }
    } else {
        OutgoingMail {
            to,
            subject: "Your Custodian verification code".to_owned(),
            body: format!(
                "Your code is {code}, {what}.\n\nIt works once, for {minutes} minutes. Never share it: nobody from Custodian will ask you for it.\n\nIf you did not ask for this code, someone may know your password: change it now and tell your administrator.\n"
            ),
        }
    }
}

pub(crate) fn code_sms(to: String, code: &str, purpose: CodePurpose, zh: bool) -> OutgoingSms {
    let minutes = crate::sent_codes::CODE_TTL_MS / 60_000;
    let what = purpose_text(purpose, zh);
    let text = if zh {
        format!("【Custodian】验证码 {code}，{what}，{minutes} 分钟内有效。请勿泄露。")
    } else {
        format!("Custodian code {code} {what}. Valid {minutes} min. Never share it.")
    };
    OutgoingSms { to, text }
}

pub(crate) fn invitation_mail(to: String, link: &str, days: i64, zh: bool) -> OutgoingMail {
    if zh {
        OutgoingMail {
            to,
            subject: "邀请您加入 Custodian".to_owned(),
            body: format!(
                "管理员邀请您使用 Custodian 客户管理系统。\n\n请打开以下链接设置密码：\n{link}\n\n链接 {days} 天内有效，只能使用一次。如果您不认识发出邀请的组织，请忽略此邮件。\n"
            ),
        }
    } else {
        OutgoingMail {
            to,
            subject: "You are invited to Custodian".to_owned(),
            body: format!(
                "An administrator invited you to Custodian, your organisation's customer records.\n\nOpen this link to choose your password:\n{link}\n\nThe link works once, for {days} days. If you do not know the organisation that invited you, ignore this e-mail.\n"
            ),
        }
    }
}

pub(crate) fn reset_mail(to: String, link: &str, minutes: i64, zh: bool) -> OutgoingMail {
    if zh {
        OutgoingMail {
            to,
            subject: "重置您的 Custodian 密码".to_owned(),
            body: format!(
                "有人请求重置您的 Custodian 密码。\n\n请打开以下链接设置新密码：\n{link}\n\n链接 {minutes} 分钟内有效，只能使用一次。设置新密码后，您的所有会话都会结束；如果您开启了两步验证，登录时仍需验证。\n\n如果这不是您本人的请求，请忽略此邮件，您的密码不会改变。\n"
            ),
        }
    } else {
        OutgoingMail {
            to,
            subject: "Reset your Custodian password".to_owned(),
            body: format!(
                "Someone asked to reset your Custodian password.\n\nOpen this link to choose a new one:\n{link}\n\nThe link works once, for {minutes} minutes. Setting a new password ends all your sessions; two-step verification still applies when you sign in.\n\nIf you did not ask for this, ignore this e-mail: your password stays as it is.\n"
            ),
        }
    }
}

/// A task notification. The task's title stays in Custodian (it may name a customer): the
/// e-mail only says that there is something to look at, and links to it.
pub(crate) fn task_mail(
    to: String,
    kind: &str,
    due: Option<&str>,
    link: &str,
    zh: bool,
) -> OutgoingMail {
    let (subject, lead) = match (kind, zh) {
        ("task_reminder", false) => ("Task reminder", "One of your tasks needs attention."),
        ("task_reminder", true) => ("任务提醒", "您有一项任务需要处理。"),
        (_, false) => (
            "A task was assigned to you",
            "Someone assigned a task to you.",
        ),
        (_, true) => ("您有新任务", "有人给您分配了一项任务。"),
    };
    let due = match (due, zh) {
        (Some(due), false) => format!("\nDue: {due}"),
        (Some(due), true) => format!("\n截止时间：{due}"),
        (None, _) => String::new(),
    };
    OutgoingMail {
        to,
        subject: format!("Custodian: {subject}"),
        body: format!("{lead}{due}\n\n{link}\n"),
    }
}

/// The name of a monitoring rule, for people.
pub(crate) fn rule_name(rule: &str, zh: bool) -> &'static str {
    match (rule, zh) {
        ("failed_login_burst", false) => "Burst of failed sign-ins",
        ("failed_login_burst", true) => "登录失败次数激增",
        ("password_spraying", false) => "Password spraying",
        ("password_spraying", true) => "密码喷洒攻击",
        ("mass_read", false) => "Mass reading of personal data",
        ("mass_read", true) => "大量读取个人数据",
        ("large_export", false) => "Large export",
        ("large_export", true) => "大批量导出",
        ("export_volume", false) => "Unusually many exports",
        ("export_volume", true) => "导出次数异常",
        ("off_hours", false) => "Access outside working hours",
        ("off_hours", true) => "非工作时间访问",
        ("new_network", false) => "Sign-in from a new network",
        ("new_network", true) => "从新网络登录",
        ("privilege_escalation", false) => "Role granted",
        ("privilege_escalation", true) => "授予角色（权限提升）",
        ("ended_session_used", false) => "Ended session used again",
        ("ended_session_used", true) => "已结束的会话被再次使用",
        ("audit_verification", false) => "Audit log verification failed",
        ("audit_verification", true) => "审计日志校验失败",
        (_, false) => "Security alert",
        (_, true) => "安全警报",
    }
}

/// Tells a security officer that a rule raised an alert: the rule and a link, nothing about
/// the people involved (the alert page shows that to those allowed to see it).
pub(crate) fn alert_mail(to: String, rule: &str, link: &str, zh: bool) -> OutgoingMail {
    let name = rule_name(rule, zh);
    if zh {
        OutgoingMail {
            to,
            subject: format!("Custodian 安全警报：{name}"),
            body: format!("监控规则触发了一条安全警报：{name}。\n\n请查看并处理：\n{link}\n"),
        }
    } else {
        OutgoingMail {
            to,
            subject: format!("Custodian security alert: {name}"),
            body: format!(
                "A monitoring rule raised a security alert: {name}.\n\nReview and handle it here:\n{link}\n"
            ),
        }
    }
}

/// "2026-11-24 14:05 UTC": when something happened, unambiguous in any time zone.
fn utc_minute(millis: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    custodian_domain::clock::from_millis(millis)
        .format(&format)
        .unwrap_or_default()
}

/// Tells the user about a sign-in from a device or network their account had not used. It
/// names only what the user's own browser sent (its address and user agent) and when.
pub(crate) fn new_sign_in_mail(
    to: String,
    at_millis: i64,
    client: &crate::sessions::ClientInfo,
    security_page: &str,
    zh: bool,
) -> OutgoingMail {
    let when = utc_minute(at_millis);
    let unknown = if zh { "未知" } else { "unknown" };
    let device = client.user_agent.as_deref().unwrap_or(unknown);
    let address = client
        .ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| unknown.to_owned());
    if zh {
        OutgoingMail {
            to,
            subject: "您的 Custodian 账户在新设备上登录".to_owned(),
            body: format!(
                "您的 Custodian 账户刚刚在一台以前没有用过的设备或网络上登录。\n\n时间：{when}\n设备：{device}\n网络地址：{address}\n\n如果是您本人，无需任何操作。\n如果不是您本人，请立即修改密码，并在此页面结束该会话：\n{security_page}\n然后告知管理员。\n"
            ),
        }
    } else {
        OutgoingMail {
            to,
            subject: "New sign-in to your Custodian account".to_owned(),
            body: format!(
                "Your Custodian account was just signed in to from a device or network it had not used before.\n\nWhen: {when}\nDevice: {device}\nNetwork address: {address}\n\nIf this was you, there is nothing to do.\nIf it was not, change your password now and end that session here:\n{security_page}\nThen tell your administrator.\n"
            ),
        }
    }
}
