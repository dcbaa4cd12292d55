//! AWS partitions, derived from the region.

use std::fmt;

/// The AWS partition a region belongs to: the second field of every ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The commercial partition, `aws`.
    Aws,
    /// China, `aws-cn`.
    AwsCn,
    /// AWS GovCloud (US), `aws-us-gov`.
    AwsUsGov,
    /// `aws-iso` (`us-iso-*`).
    AwsIso,
    /// `aws-iso-b` (`us-isob-*`).
    AwsIsoB,
    /// `aws-iso-e` (`eu-isoe-*`).
    AwsIsoE,
    /// `aws-iso-f` (`us-isof-*`).
    AwsIsoF,
    /// The AWS European Sovereign Cloud, `aws-eusc` (`eusc-*`).
    AwsEusc,
}

impl Partition {
    /// The partition of `region`; unknown regions are in `aws`, as AWS's own endpoint rules say.
    pub fn of_region(region: &str) -> Self {
        // The longer prefixes first: `us-isob-` and `us-isof-` also start with `us-iso`.
        const PREFIXES: [(&str, Partition); 7] = [
            ("us-isob-", Partition::AwsIsoB),
            ("us-isof-", Partition::AwsIsoF),
            ("us-iso-", Partition::AwsIso),
            ("eu-isoe-", Partition::AwsIsoE),
            ("us-gov-", Partition::AwsUsGov),
            ("cn-", Partition::AwsCn),
            ("eusc-", Partition::AwsEusc),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(Partition::Aws, |(_, partition)| *partition)
    }

    /// The partition's name as ARNs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
            Self::AwsIso => "aws-iso",
            Self::AwsIsoB => "aws-iso-b",
            Self::AwsIsoE => "aws-iso-e",
            Self::AwsIsoF => "aws-iso-f",
            Self::AwsEusc => "aws-eusc",
        }
    }

    /// The DNS suffix of the partition's endpoints (`AWS::URLSuffix`).
    pub fn url_suffix(self) -> &'static str {
        match self {
            Self::Aws | Self::AwsUsGov => "amazonaws.com",
            Self::AwsCn => "amazonaws.com.cn",
            Self::AwsIso => "c2s.ic.gov",
            Self::AwsIsoB => "sc2s.sgov.gov",
            Self::AwsIsoE => "cloud.adc-e.uk",
            Self::AwsIsoF => "csp.hci.ic.gov",
            Self::AwsEusc => "amazonaws.eu",
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_from_its_regions() {
        let cases = [
            ("us-east-1", "aws"),
            ("eu-west-2", "aws"),
            ("ap-southeast-5", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-iso-west-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ];
        for (region, partition) in cases {
            assert_eq!(Partition::of_region(region).as_str(), partition, "{region}");
        }
    }
}
