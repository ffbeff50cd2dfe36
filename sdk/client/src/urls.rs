//! Function URLs: a function's (or alias's) address on the HTTP listener.

use crate::{Client, Result, proto};

impl Client {
    /// Gives a function (or, with a qualifier, an alias) a URL.
    pub async fn create_function_url_config(
        &self,
        request: proto::CreateFunctionUrlConfigRequest,
    ) -> Result<proto::FunctionUrlConfig> {
        Ok(self
            .urls
            .clone()
            .create_function_url_config(request)
            .await?
            .into_inner())
    }

    pub async fn get_function_url_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<proto::FunctionUrlConfig> {
        Ok(self
            .urls
            .clone()
            .get_function_url_config(proto::GetFunctionUrlConfigRequest {
                function_name: function_name.into(),
                qualifier: qualifier.into(),
            })
            .await?
            .into_inner())
    }

    /// Changes the fields given (the URL stays).
    pub async fn update_function_url_config(
        &self,
        request: proto::UpdateFunctionUrlConfigRequest,
    ) -> Result<proto::FunctionUrlConfig> {
        Ok(self
            .urls
            .clone()
            .update_function_url_config(request)
            .await?
            .into_inner())
    }

    pub async fn delete_function_url_config(
        &self,
        function_name: &str,
        qualifier: &str,
    ) -> Result<()> {
        self.urls
            .clone()
            .delete_function_url_config(proto::GetFunctionUrlConfigRequest {
                function_name: function_name.into(),
                qualifier: qualifier.into(),
            })
            .await?;
        Ok(())
    }

    /// A page of a function's URL configs (its own and its aliases').
    pub async fn list_function_url_configs(
        &self,
        function_name: &str,
        marker: &str,
        max_items: Option<i32>,
    ) -> Result<proto::ListFunctionUrlConfigsResponse> {
        Ok(self
            .urls
            .clone()
            .list_function_url_configs(proto::ListFunctionUrlConfigsRequest {
                function_name: function_name.into(),
                marker: marker.into(),
                max_items,
            })
            .await?
            .into_inner())
    }
}
