//! Parameter Store: parameters, their versions, reads by path.

use crate::{Client, Result, proto};

impl Client {
    pub async fn put_parameter(
        &self,
        request: proto::PutParameterRequest,
    ) -> Result<proto::PutParameterResponse> {
        Ok(self.ssm.clone().put_parameter(request).await?.into_inner())
    }

    /// `name` may be `name:version`; a SecureString's value is in clear
    /// only `with_decryption`.
    pub async fn get_parameter(
        &self,
        name: &str,
        with_decryption: bool,
    ) -> Result<proto::Parameter> {
        Ok(self
            .ssm
            .clone()
            .get_parameter(proto::GetParameterRequest {
                name: name.into(),
                with_decryption,
            })
            .await?
            .into_inner()
            .parameter
            .unwrap_or_default())
    }

    pub async fn get_parameters(
        &self,
        names: Vec<String>,
        with_decryption: bool,
    ) -> Result<proto::GetParametersResponse> {
        Ok(self
            .ssm
            .clone()
            .get_parameters(proto::GetParametersRequest {
                names,
                with_decryption,
            })
            .await?
            .into_inner())
    }

    /// One page; pass the returned `next_token` back for the next.
    pub async fn get_parameters_by_path(
        &self,
        request: proto::GetParametersByPathRequest,
    ) -> Result<proto::GetParametersByPathResponse> {
        Ok(self
            .ssm
            .clone()
            .get_parameters_by_path(request)
            .await?
            .into_inner())
    }

    /// Every parameter under `path`, following pages.
    pub async fn get_all_parameters_by_path(
        &self,
        path: &str,
        recursive: bool,
        with_decryption: bool,
    ) -> Result<Vec<proto::Parameter>> {
        let mut request = proto::GetParametersByPathRequest {
            path: path.into(),
            recursive,
            with_decryption,
            ..Default::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.get_parameters_by_path(request.clone()).await?;
            all.extend(page.parameters);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            request.next_token = page.next_token;
        }
    }

    pub async fn delete_parameter(&self, name: &str) -> Result<()> {
        self.ssm
            .clone()
            .delete_parameter(proto::DeleteParameterRequest { name: name.into() })
            .await?;
        Ok(())
    }

    /// One page; pass the returned `next_token` back for the next.
    pub async fn describe_parameters(
        &self,
        request: proto::DescribeParametersRequest,
    ) -> Result<proto::DescribeParametersResponse> {
        Ok(self
            .ssm
            .clone()
            .describe_parameters(request)
            .await?
            .into_inner())
    }

    /// Every parameter `filters` keep, following pages.
    pub async fn describe_all_parameters(
        &self,
        filters: Vec<proto::ParameterStringFilter>,
    ) -> Result<Vec<proto::ParameterMetadata>> {
        let mut request = proto::DescribeParametersRequest {
            parameter_filters: filters,
            ..Default::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.describe_parameters(request.clone()).await?;
            all.extend(page.parameters);
            if page.next_token.is_empty() {
                return Ok(all);
            }
            request.next_token = page.next_token;
        }
    }
}
