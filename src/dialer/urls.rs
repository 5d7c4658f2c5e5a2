//! The webhook URLs handed to the provider. Each carries our own job id and
//! attempt (covered by the provider's signature), so a webhook never has to
//! be matched to a job by anything the provider chose.

use crate::domain::JobId;

/// Builds callback URLs under the configured public base URL.
#[derive(Clone, Debug)]
pub struct CallbackUrls {
    base: String,
}

/// Webhook paths, shared with the router.
pub const ANSWER_PATH: &str = "/twilio/answer";
pub const GATHER_PATH: &str = "/twilio/gather";
pub const STATUS_PATH: &str = "/twilio/status";

impl CallbackUrls {
    pub fn new(public_base: &str) -> Self {
        Self {
            base: public_base.trim_end_matches('/').to_owned(),
        }
    }

    fn url(&self, path: &str, pairs: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        format!("{}{path}?{}", self.base, q.finish())
    }

    pub fn answer(&self, job: &JobId, attempt: u32) -> String {
        self.url(
            ANSWER_PATH,
            &[("job", &job.to_string()), ("attempt", &attempt.to_string())],
        )
    }

    pub fn status(&self, job: &JobId, attempt: u32) -> String {
        self.url(
            STATUS_PATH,
            &[("job", &job.to_string()), ("attempt", &attempt.to_string())],
        )
    }

    pub fn gather(&self, job: &JobId, attempt: u32, step: u32) -> String {
        self.url(
            GATHER_PATH,
            &[
                ("job", &job.to_string()),
                ("attempt", &attempt.to_string()),
                ("step", &step.to_string()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_job_and_attempt() {
        let u = CallbackUrls::new("https://ivr.example.gov.in/");
        let j = JobId::parse("police-1/c-7").unwrap();
        assert_eq!(
            u.answer(&j, 2),
            "https://ivr.example.gov.in/twilio/answer?job=police-1%2Fc-7&attempt=2"
        );
        assert!(u.gather(&j, 1, 3).ends_with("attempt=1&step=3"));
    }
}
